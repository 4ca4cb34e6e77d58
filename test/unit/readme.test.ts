import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONDITION_TYPES } from '../../src/checks/registry.js';
import { repoRoot } from '../../src/localcluster/paths.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
/** README's "Reading status" section, up to the next heading of the same or a higher level. */
const readingStatus = /### Reading status\n([\s\S]*?)\n##/.exec(readme)?.[1] ?? '';

describe('README: "Reading status" matches the CRD and the registry', () => {
  it("the `kubectl get kaiwomonitors` line lists the CRD's default columns in order", () => {
    const crd = parse(readFileSync(join(repoRoot, 'config/crd/bases/monitoring.kaiwo.silogen.ai_kaiwomonitors.yaml'), 'utf8')) as {
      spec: { versions: { additionalPrinterColumns: { name: string; priority?: number }[] }[] };
    };
    const columns = (crd.spec.versions[0]?.additionalPrinterColumns ?? []).filter((c) => !c.priority).map((c) => c.name.toUpperCase());
    const line = /kubectl get kaiwomonitors\s+# (.*)/.exec(readingStatus)?.[1];
    expect(line, 'the kubectl get line in README').to.be.a('string');
    expect(line?.split(/\s+/)).to.deep.equal(['NAME', ...columns]);
  });

  it("the condition table names every component's condition", () => {
    const types = Object.values(CONDITION_TYPES).filter((t): t is string => typeof t === 'string');
    expect(
      types.filter((t) => !readingStatus.includes(`\`${t}\``)),
      'condition types missing from README',
    ).to.deep.equal([]);
  });
});

describe('docs/ARCHITECTURE.md names files that exist', () => {
  it('every `src/…`, `hack/…`, `test/…` path it names is in the tree', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'ARCHITECTURE.md'), 'utf8');
    const paths = [...doc.matchAll(/\b((?:src|hack|test|config|charts|crds)\/[\w./*<>-]*[\w/*>])/g)].map((m) => m[1] ?? '');
    expect(paths.length, 'paths named').to.be.greaterThan(30);
    const missing = [...new Set(paths)].filter(
      (p) => !p.includes('<') && !p.includes('*') && !existsSync(join(repoRoot, p.replace(/\/$/, ''))),
    );
    expect(missing, 'paths named in ARCHITECTURE.md that do not exist').to.deep.equal([]);
  });
});
