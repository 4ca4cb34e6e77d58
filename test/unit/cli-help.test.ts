import { expect } from 'chai';
import { COMMANDS, main } from '../../src/cli/commands.js';
import { shownDefault } from '../../src/cli/flags.js';
import { commandHelp, overviewHelp } from '../../src/cli/help.js';

/** What main(argv) writes to stdout and stderr, and its exit code. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const write = { stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };
  process.stdout.write = (s: string | Uint8Array) => {
    out.stdout += String(s);
    return true;
  };
  process.stderr.write = (s: string | Uint8Array) => {
    out.stderr += String(s);
    return true;
  };
  try {
    return { code: await main(argv), ...out };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
  }
}

const flagsOf = (name: string) => new Set(COMMANDS.find((c) => c.name === name)?.flags.map((f) => f.name));

describe('kaiwo-monitor help', () => {
  it("--help and help list every command with one line and say how to get a command's help", async () => {
    const top = await run(['--help']);
    expect(top.code).to.equal(0);
    expect(top.stdout).to.equal(overviewHelp('kaiwo-monitor', COMMANDS));
    expect((await run(['help'])).stdout).to.equal(top.stdout);
    for (const c of COMMANDS) expect(top.stdout).to.match(new RegExp(`^  ${c.name} +${c.summary.replace(/[()]/g, '\\$&')}$`, 'm'));
    expect(top.stdout).to.include('Use "kaiwo-monitor <command> --help"');
    expect(top.stdout).to.not.include('--metrics-bind-address');
  });

  for (const c of COMMANDS) {
    it(`${c.name} --help prints its own usage, flags with defaults and examples, and no other command's flags`, async () => {
      const r = await run([c.name, '--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal(commandHelp('kaiwo-monitor', c));
      expect(r.stdout).to.include(`Usage:\n  kaiwo-monitor ${c.name} ${c.usage}\n`);
      expect(r.stdout).to.match(new RegExp(`Examples:\\n  # .+\\n  kaiwo-monitor ${c.name}`));
      for (const f of c.flags) {
        const line =
          r.stdout
            .split('Flags:\n')[1]
            ?.split('\n')
            .find((l) => l.includes(`--${f.name} `) || l.endsWith(`--${f.name}`)) ?? '';
        expect(line, f.name).to.include(f.help);
        const shown = shownDefault(f);
        if (shown !== undefined) expect(line, f.name).to.include(`(default ${shown})`);
        else expect(line, f.name).to.not.include('(default ');
      }
      const own = flagsOf(c.name);
      for (const other of COMMANDS.filter((x) => x !== c)) {
        for (const f of other.flags.filter((x) => !own.has(x.name)))
          expect(r.stdout, `${c.name} help names --${f.name}`).to.not.match(new RegExp(`--${f.name}(?![\\w-])`));
      }
      expect((await run(['help', c.name])).stdout).to.equal(r.stdout);
    });
  }

  it("names each command's own flags: run has the manager flags, check -f and --timeout, version -o", async () => {
    expect((await run(['run', '-h'])).stdout)
      .to.include('--leader-elect')
      .and.include('(default :8081)')
      .and.not.include('--file');
    expect((await run(['check', '-h'])).stdout)
      .to.include('-f, --file')
      .and.include('(default 60s)')
      .and.include('(default warn)')
      .and.not.include('--leader-elect');
    expect((await run(['version', '-h'])).stdout)
      .to.include('-o, --output <text|json>')
      .and.not.include('--kubeconfig');
  });

  it("a bad flag is one line naming the command's help; an unknown command or help topic exits 2", async () => {
    const bad = await run(['check', '--leader-elect']);
    expect(bad).to.include({
      code: 2,
      stdout: '',
      stderr: 'kaiwo-monitor check: unknown flag --leader-elect; see kaiwo-monitor check --help\n',
    });
    expect(await run(['help', 'launch'])).to.include({
      code: 2,
      stderr: 'kaiwo-monitor help: unknown command "launch"; see kaiwo-monitor --help\n',
    });
    expect((await run(['launch'])).code).to.equal(2);
    expect((await run([])).code).to.equal(2);
  });

  it('version prints the package version, and with -o json the Node version and flags', async () => {
    expect((await run(['version'])).stdout).to.match(/^kaiwo-monitor \d+\.\d+\.\d+\S*\n$/);
    const json = JSON.parse((await run(['version', '-o', 'json'])).stdout) as { version: string; node: string; nodeFlags: string[] };
    expect(json).to.deep.equal({ version: json.version, node: process.version, nodeFlags: process.execArgv });
  });
});
