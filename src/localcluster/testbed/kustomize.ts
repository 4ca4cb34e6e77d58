import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from '../paths.js';

const run = promisify(execFile);

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

async function kubectl(): Promise<string> {
  const { stdout } = await run('bash', [join(repoRoot, 'hack', 'controlplane', 'build.sh'), '--bin-dir']);
  return join(stdout.trim(), 'kubectl');
}

/**
 * Renders an overlay with kustomize (kubectl kustomize, built from k8s.io/kubernetes): `kustomization` refers to
 * upstream directories by absolute path; they are rewritten relative to the overlay (kustomize wants that) and
 * read where they are, never copied.
 */
export async function kustomize(
  overlayDir: string,
  kustomization: Record<string, unknown>,
  absPaths: Record<string, string>,
): Promise<Manifest[]> {
  await mkdir(overlayDir, { recursive: true });
  let text = stringify(kustomization);
  for (const [token, abs] of Object.entries(absPaths)) text = text.replaceAll(token, relative(overlayDir, abs));
  await writeFile(join(overlayDir, 'kustomization.yaml'), text);
  const { stdout } = await run(await kubectl(), ['kustomize', '--load-restrictor=LoadRestrictionsNone', overlayDir], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as Manifest)
    .filter((m) => typeof m.kind === 'string');
}
