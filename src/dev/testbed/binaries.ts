import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../paths.js';

const run = promisify(execFile);

/** The test bed's parts, each built from its Go module by hack/build-tool.sh and cached by version. */
export type TestBedTool = 'kube' | 'kwok' | 'kueue' | 'kueue-legacy' | 'kaiwo' | 'kaiwo-next';

const built = new Map<TestBedTool, Promise<string>>();

/**
 * Directory of a test-bed tool's binaries, building it on first use (minutes the first time: the log says so), then
 * from ~/.cache/kaiwo-monitor/<tool>/<version>/bin.
 */
export function testBedBinDir(tool: TestBedTool, log: (m: string) => void = () => undefined): Promise<string> {
  let dir = built.get(tool);
  if (!dir) {
    dir = (async () => {
      const script = join(repoRoot, 'hack', 'build-tool.sh');
      const started = Date.now();
      const { stdout, stderr } = await run('bash', [script, tool], { maxBuffer: 64 * 1024 * 1024 });
      if (!stderr.includes('cached:')) log(`built ${tool} in ${((Date.now() - started) / 1000).toFixed(0)}s`);
      return stdout.trim().split('\n').pop() ?? '';
    })();
    built.set(tool, dir);
  }
  return dir;
}
