import { durationMs } from '../api/duration.js';
import { loadKubeConfig } from '../runtime/kubeconfig.js';
import { explain } from '../why/explain.js';
import { gather, parseTarget, WhyError } from '../why/gather.js';
import { renderJson, renderText } from '../why/render.js';
import type { FlagDef } from './flags.js';

/** Flags of `why`. */
export const whyFlags: FlagDef[] = [
  { name: 'namespace', short: 'n', type: 'string', default: 'default', help: 'namespace of the job' },
  { name: 'output', short: 'o', type: 'enum', values: ['text', 'json'], default: 'text', help: 'text for people, json for tools' },
  { name: 'timeout', type: 'duration', default: '10s', help: 'deadline of each request to the API server' },
  { name: 'context', type: 'string', default: '', help: 'kubeconfig context to use (default: the current context)' },
];

/**
 * `kaiwo-monitor why <kind>/<name>`: follows one job from Kaiwo through Kueue to the nodes and prints each link, the
 * first one that holds it back marked. Exit 0 nothing holds it back, 1 something does, 2 cannot tell (bad input).
 */
export async function runWhy(values: Record<string, string>, positionals: string[], prog = 'kaiwo-monitor'): Promise<number> {
  const say = (msg: string) => {
    process.stderr.write(`${prog} why: ${msg}\n`);
  };
  try {
    const ref = positionals[0];
    if (!ref) throw new WhyError(`which job? e.g. ${prog} why kaiwojob/train-7 -n ml`);
    const target = parseTarget(ref, values.namespace ?? 'default');
    const kc = await loadKubeConfig(values.kubeconfig === '' ? undefined : values.kubeconfig);
    if (values.context) {
      if (!kc.getContextObject(values.context)) throw new WhyError(`context ${JSON.stringify(values.context)} is not in the kubeconfig`);
      kc.setCurrentContext(values.context);
    }
    const answer = explain(await gather(kc, target, { timeoutMs: durationMs(values.timeout ?? '10s') }));
    process.stdout.write(values.output === 'json' ? renderJson(answer) : renderText(answer));
    return answer.exitCode;
  } catch (err) {
    say(err instanceof WhyError ? err.message : `cannot tell: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
}
