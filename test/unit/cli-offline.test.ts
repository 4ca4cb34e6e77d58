import { expect } from 'chai';
import { applyDefaults } from '../../src/api/defaults.js';
import { specSchema } from '../../src/checks/registry.js';
import { CheckError, toMonitorDoc } from '../../src/cli/admission.js';
import { programName } from '../../src/cli/commands.js';
import { validateAgainstSchema } from '../../src/cli/schema-check.js';
import { nodeTooOld } from '../../src/cli/version.js';

const offline = (spec: unknown) => validateAgainstSchema(specSchema, applyDefaults(specSchema, spec as Record<string, unknown>), 'spec');

describe('kaiwo-monitor check: offline validation against the CRD schema', () => {
  it('accepts the defaults and counts the CEL rules it could not evaluate', () => {
    const r = offline({});
    expect(r.errors).to.deep.equal([]);
    expect(r.celRulesSkipped).to.be.greaterThan(3);
  });

  it('rejects what the API server rejects, worded like it', () => {
    expect(offline({ interval: '5x' }).errors).to.deep.equal([
      `spec.interval: Invalid value: "5x": spec.interval in body should match '${(specSchema.properties as Record<string, { pattern: string }>).interval?.pattern ?? ''}'`,
    ]);
    expect(offline({ gpuNodes: { minReadyPercent: 101 } }).errors).to.deep.equal([
      'spec.gpuNodes.minReadyPercent: Invalid value: 101: spec.gpuNodes.minReadyPercent in body should be less than or equal to 100',
    ]);
    expect(offline({ gpuNodes: { minReadyPercent: 'ninety' } }).errors[0]).to.match(
      /^spec\.gpuNodes\.minReadyPercent: Invalid value: "ninety": .* must be of type integer/,
    );
    expect(offline({ operator: { metrics: { bearerToken: { source: 'Token' } } } }).errors[0]).to.match(
      /^spec\.operator\.metrics\.bearerToken\.source: Unsupported value: "Token": supported values: "ServiceAccount", "Secret", "None"$/,
    );
    expect(offline({ colour: 'blue' }).errors).to.deep.equal(['unknown field "spec.colour"']);
    expect(offline({ gpuNodes: { resourceNames: ['amd.com/gpu', 'amd.com/gpu'] } }).errors).to.deep.equal([
      'spec.gpuNodes.resourceNames[1]: Duplicate value: "amd.com/gpu"',
    ]);
    expect(offline({ kueue: { podSelector: { matchExpressions: [{ key: 'app' }] } } }).errors).to.deep.equal([
      'spec.kueue.podSelector.matchExpressions[0].operator: Required value',
    ]);
  });

  it('checks selector maps (additionalProperties) and reports every error', () => {
    const r = offline({ interval: 'soon', kueue: { podSelector: { matchLabels: { app: 7 } } } });
    expect(r.errors).to.have.length(2);
    expect(r.errors[1]).to.match(/^spec\.kueue\.podSelector\.matchLabels\.app: Invalid value: 7: .* must be of type string/);
  });

  it('reads a whole KaiwoMonitor or a bare spec, and refuses other kinds', () => {
    expect(
      toMonitorDoc(
        {
          kind: 'KaiwoMonitor',
          apiVersion: 'monitoring.kaiwo.silogen.ai/v1alpha1',
          metadata: { name: 'x', uid: 'u' },
          spec: { interval: '1m' },
        },
        'f',
      ),
    ).to.deep.equal({
      apiVersion: 'monitoring.kaiwo.silogen.ai/v1alpha1',
      kind: 'KaiwoMonitor',
      metadata: { name: 'x' },
      spec: { interval: '1m' },
    });
    expect(toMonitorDoc({ interval: '1m' }, 'f').spec).to.deep.equal({ interval: '1m' });
    expect(toMonitorDoc(null, 'f').spec).to.deep.equal({});
    expect(() => toMonitorDoc({ kind: 'Deployment', spec: {} }, 'f')).to.throw(CheckError, 'kind is "Deployment", expected KaiwoMonitor');
    expect(() => toMonitorDoc({ apiVersion: 'monitoring.kaiwo.silogen.ai/v1', spec: {} }, 'f')).to.throw(
      CheckError,
      'expected monitoring.kaiwo.silogen.ai/v1alpha1',
    );
    expect(() => toMonitorDoc([1], 'f')).to.throw(CheckError);
  });
});

describe('kaiwo-monitor entry point', () => {
  it('tells in one line what to run on a Node older than engines.node', () => {
    const msg = nodeTooOld('20.20.2', '/usr/bin/node', '/opt/kaiwo-monitor/dist/cli/main.js');
    expect(msg).to.equal(
      'kaiwo-monitor needs Node.js >= 24, but /usr/bin/node is v20.20.2; put Node.js 24 first on PATH, or run: npx -y node@24 /opt/kaiwo-monitor/dist/cli/main.js <command> ...',
    );
    expect(nodeTooOld('24.0.0', '/n', 'x')).to.equal(undefined);
    expect(nodeTooOld('25.1.0', '/n', 'x')).to.equal(undefined);
  });

  it('calls itself `kubectl kaiwo-monitor` when run as the kubectl plugin', () => {
    expect(programName('/usr/local/bin/kubectl-kaiwo_monitor')).to.equal('kubectl kaiwo-monitor');
    expect(programName('/usr/local/bin/kaiwo-monitor')).to.equal('kaiwo-monitor');
    expect(programName('/repo/dist/cli/main.js')).to.equal('kaiwo-monitor');
  });
});
