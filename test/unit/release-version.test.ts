import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../../src/localcluster/paths.js';
import { packageVersion } from '../../src/cli/version.js';

const run = promisify(execFile);
const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');

describe('one version for the package, the image, the chart and the kustomize install', () => {
  const version = (JSON.parse(read('package.json')) as { version: string }).version;

  it('package.json is the source: the CLI reports it', () => {
    expect(version).to.match(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(packageVersion()).to.equal(version);
  });

  it("the chart's appVersion, config/manager's image tag and the Makefile's IMAGE agree with it", async () => {
    expect((parse(read('charts/kaiwo-monitor/Chart.yaml')) as { appVersion: string }).appVersion).to.equal(version);
    const kustomization = parse(read('config/manager/kustomization.yaml')) as { images: { name: string; newTag: string }[] };
    expect(kustomization.images).to.deep.equal([{ name: 'ghcr.io/silogen/kaiwo-monitor', newTag: version }]);
    const deployment = parseAllDocuments(read('config/manager/manager.yaml'))
      .map((d) => d.toJS() as { kind: string; spec?: { template: { spec: { containers: { image: string }[] } } } })
      .find((o) => o.kind === 'Deployment');
    expect(deployment?.spec?.template.spec.containers[0]?.image).to.equal(`ghcr.io/silogen/kaiwo-monitor:${version}`);
    const { IMAGE: _override, ...env } = process.env;
    const { stdout } = await run('make', ['-s', 'image'], { cwd: repoRoot, env });
    expect(stdout.trim().split('\n').pop()).to.equal(`ghcr.io/silogen/kaiwo-monitor:${version}`);
  });
});
