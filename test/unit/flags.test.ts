import { expect } from 'chai';
import { durationMs } from '../../src/api/duration.js';
import { FlagError, flagHelp, parseFlags } from '../../src/cli/flags.js';
import { commonFlags, runFlags } from '../../src/cli/run.js';

const defs = [...runFlags, ...commonFlags];

describe('command-line flags', () => {
  it('has the controller-runtime manager defaults', () => {
    const { values } = parseFlags(defs, []);
    expect(values).to.include({
      'metrics-bind-address': '0',
      'metrics-secure': 'true',
      'health-probe-bind-address': ':8081',
      'leader-elect': 'false',
      'log-level': 'info',
    });
  });

  it('accepts --name=value, --name value and bare booleans', () => {
    const { values } = parseFlags(defs, ['--metrics-bind-address=:8443', '--kubeconfig', '/k', '--leader-elect', '--metrics-secure=false']);
    expect(values).to.include({ 'metrics-bind-address': ':8443', kubeconfig: '/k', 'leader-elect': 'true', 'metrics-secure': 'false' });
  });

  it('rejects unknown flags and bad values with one line', () => {
    expect(() => parseFlags(defs, ['--nope'])).to.throw(FlagError, 'unknown flag --nope');
    expect(() => parseFlags(defs, ['--log-level=loud'])).to.throw(FlagError, /want one of error, warn, info, debug/);
    expect(() => parseFlags(defs, ['--leader-elect-lease-duration=15'])).to.throw(FlagError, /duration/);
    expect(() => parseFlags(defs, ['--kubeconfig'])).to.throw(FlagError, /needs a value/);
  });

  it('documents every flag', () => {
    const help = flagHelp(defs);
    for (const d of defs) expect(help).to.include(`--${d.name}`);
  });

  it('parses durations', () => {
    expect(durationMs('1h30m')).to.equal(5_400_000);
    expect(durationMs('250ms')).to.equal(250);
  });
});
