import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONDITION_TYPES } from '../../src/checks/registry.js';
import { repoRoot } from '../../src/localcluster/paths.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
/** README's "Reading status" section, up to the next heading of the same or a higher level. */
const readingStatus = /### Reading status\n([\s\S]*?)\n##/.exec(readme)?.[1] ?? '';

describe('README: "Reading status" matches the CRD and the registry', () => {
  it('the `kubectl get kaiwomonitors` line lists the CRD\'s default columns in order', () => {
    const crd = parse(readFileSync(join(repoRoot, 'config/crd/bases/monitoring.kaiwo.silogen.ai_kaiwomonitors.yaml'), 'utf8')) as {
      spec: { versions: { additionalPrinterColumns: { name: string; priority?: number }[] }[] };
    };
    const columns = (crd.spec.versions[0]?.additionalPrinterColumns ?? []).filter((c) => !c.priority).map((c) => c.name.toUpperCase());
    const line = /kubectl get kaiwomonitors\s+# (.*)/.exec(readingStatus)?.[1];
    expect(line, 'the kubectl get line in README').to.be.a('string');
    expect(line?.split(/\s+/)).to.deep.equal(['NAME', ...columns]);
  });

  it('the condition table names every component\'s condition', () => {
    const types = Object.values(CONDITION_TYPES).filter((t): t is string => typeof t === 'string');
    expect(types.filter((t) => !readingStatus.includes(`\`${t}\``)), 'condition types missing from README').to.deep.equal([]);
  });
});
