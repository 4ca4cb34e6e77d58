#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { createLogger, type LogLevel, logLevels } from '../runtime/log.js';
import { loadKubeConfig } from '../runtime/kubeconfig.js';
import { serverInfo } from './connect.js';

const usage = `Usage: kaiwo-monitor run [flags]

Connects to the Kubernetes API server and reports its version. (The reconciling operator lands with the
KaiwoMonitor API.)

Flags:
  --kubeconfig <path>     kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --log-level <level>     error | warn | info | debug (default info)
  --log-format <format>   json | console (default json)
  -h, --help              show this help
`;

function fail(msg: string): never {
  process.stderr.write(`kaiwo-monitor: ${msg}\n`);
  process.exit(2);
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        kubeconfig: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        'log-format': { type: 'string', default: 'json' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const command = positionals[0] ?? 'run';
  if (command !== 'run') fail(`unknown command ${JSON.stringify(command)}; see --help`);
  const level = values['log-level'] as LogLevel;
  if (!logLevels.includes(level)) fail(`--log-level must be one of ${logLevels.join(', ')}`);
  const format = values['log-format'];
  if (format !== 'json' && format !== 'console') fail('--log-format must be json or console');

  const log = createLogger({ level, format });
  try {
    const kc = loadKubeConfig(values.kubeconfig);
    const info = await serverInfo(kc);
    log.info('connected to Kubernetes API server', { server: info.server, serverVersion: info.gitVersion, platform: info.platform });
    return 0;
  } catch (err) {
    log.error('startup failed', { error: err });
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
