import { expect } from 'chai';
import { KAIWO_DEFAULTS, kaiwoConfigSource, kaiwoSettings, kaiwoToleration } from '../../../src/checks/kaiwo-config.js';
import { kaiwoPoolGpus } from '../../../src/checks/kaiwo-pool.js';
import { kaiwoConfig } from '../../support/capacity-fixtures.js';
import { type SourceView, waitingForRequired } from '../../../src/checks/types.js';
import { view } from '../../support/fixtures.js';

/** Whether a check with KaiwoConfig among its optional sources waits for this view of it. */
const waited = (v: SourceView | undefined): boolean => waitingForRequired(v ? { kaiwoConfig: v } : {}, ['kaiwoConfig']) !== undefined;

describe('KaiwoConfig kaiwo (config.kaiwo.silogen.ai/v1alpha1)', () => {
  it('is read from the object named kaiwo only (cluster-scoped, fieldSelector metadata.name=kaiwo)', () => {
    expect(kaiwoConfigSource).to.deep.equal({
      apiVersion: 'config.kaiwo.silogen.ai/v1alpha1',
      plural: 'kaiwoconfigs',
      kind: 'KaiwoConfig',
      fieldSelector: 'metadata.name=kaiwo',
      optional: true,
    });
    const s = kaiwoSettings(
      view([
        kaiwoConfig(
          {
            addTaintsToGpuNodes: true,
            defaultGpuTaintKey: 'example.com/gpu',
            defaultGpuResourceKey: 'example.com/gpu',
            excludeMasterNodesFromNodePools: true,
          },
          { defaultClusterQueueName: 'main', dynamicallyUpdateDefaultClusterQueue: true },
        ),
      ]),
    );
    expect(s).to.deep.equal({
      from: 'KaiwoConfig',
      gpuResourceKey: 'example.com/gpu',
      gpuTaintKey: 'example.com/gpu',
      addTaintsToGpuNodes: true,
      excludeMasterNodesFromNodePools: true,
      defaultClusterQueueName: 'main',
      dynamicallyUpdateDefaultClusterQueue: true,
    });
    expect(kaiwoSettings(view([{ ...kaiwoConfig({ addTaintsToGpuNodes: true }), metadata: { name: 'other' } }]))).to.equal(KAIWO_DEFAULTS);
  });

  it("means Kaiwo's defaults when the object is missing, the CRD is not served or the source is not given", () => {
    expect(KAIWO_DEFAULTS).to.deep.include({
      gpuResourceKey: 'amd.com/gpu',
      gpuTaintKey: 'kaiwo.silogen.ai/gpu',
      addTaintsToGpuNodes: false,
      excludeMasterNodesFromNodePools: false,
      defaultClusterQueueName: 'kaiwo',
      dynamicallyUpdateDefaultClusterQueue: false,
    });
    expect(kaiwoSettings(undefined)).to.equal(KAIWO_DEFAULTS);
    expect(kaiwoSettings(view([]))).to.equal(KAIWO_DEFAULTS);
    expect(kaiwoSettings(view([], 'absent'))).to.equal(KAIWO_DEFAULTS);
    // The API server returns the CRD defaults for fields not set: an empty object is the defaults, from the object.
    expect(kaiwoSettings(view([kaiwoConfig()]))).to.deep.equal({ ...KAIWO_DEFAULTS, from: 'KaiwoConfig' });
  });

  it('waits for a first list that is under way, not for one that fails (then the defaults hold and say why)', () => {
    expect(waited(view([], 'pending'))).to.equal(true);
    const failing = {
      state: 'pending' as const,
      objects: [],
      error: 'list /apis/config.kaiwo.silogen.ai/v1alpha1/kaiwoconfigs: HTTP 403: forbidden',
    };
    expect(waited(failing)).to.equal(false);
    expect(kaiwoSettings(failing)).to.deep.include({ from: 'defaults', addTaintsToGpuNodes: false, unreadable: failing.error });
    expect(waited(view([], 'absent'))).to.equal(false);
    expect(waited(undefined)).to.equal(false);
    // Failing after a successful list: the last objects listed still hold.
    expect(
      kaiwoSettings({ state: 'failing', error: 'x', objects: [kaiwoConfig({ addTaintsToGpuNodes: true })] }).addTaintsToGpuNodes,
    ).to.equal(true);
  });

  it('takes a field of the wrong type as absent and survives hostile shapes', () => {
    for (const spec of [undefined, null, 'garbage', 7, [], { nodes: 'x' }, { nodes: [1, 2] }, { nodes: null }]) {
      expect(
        kaiwoSettings(view([{ apiVersion: 'config.kaiwo.silogen.ai/v1alpha1', kind: 'KaiwoConfig', metadata: { name: 'kaiwo' }, spec }])),
      ).to.deep.equal({ ...KAIWO_DEFAULTS, from: 'KaiwoConfig' });
    }
    const s = kaiwoSettings(
      view([
        kaiwoConfig(
          {
            addTaintsToGpuNodes: 'true',
            defaultGpuTaintKey: 42,
            defaultGpuResourceKey: 'x'.repeat(1_000_000),
            excludeMasterNodesFromNodePools: 1,
          },
          { defaultClusterQueueName: { a: 1 }, dynamicallyUpdateDefaultClusterQueue: Array.from({ length: 100_000 }, () => true) },
        ),
      ]),
    );
    expect(s).to.deep.include({
      addTaintsToGpuNodes: false,
      gpuTaintKey: 'kaiwo.silogen.ai/gpu',
      excludeMasterNodesFromNodePools: false,
      defaultClusterQueueName: 'kaiwo',
      dynamicallyUpdateDefaultClusterQueue: false,
    });
    expect(s.gpuResourceKey).to.have.length(317);
  });

  it("Kaiwo's pods tolerate its GPU taint (key Exists NoSchedule) only with addTaintsToGpuNodes and only when they request amd.com/gpu or nvidia.com/gpu", () => {
    const on = kaiwoSettings(
      view([kaiwoConfig({ addTaintsToGpuNodes: true, defaultGpuTaintKey: 'example.com/gpu', defaultGpuResourceKey: 'example.com/vgpu' })]),
    );
    expect(kaiwoToleration(on, 'amd.com/gpu')).to.deep.equal({
      key: 'example.com/gpu',
      operator: 'Exists',
      value: '',
      effect: 'NoSchedule',
    });
    expect(kaiwoToleration(on, 'nvidia.com/gpu')).to.deep.equal({
      key: 'example.com/gpu',
      operator: 'Exists',
      value: '',
      effect: 'NoSchedule',
    });
    expect(kaiwoToleration(on, 'example.com/vgpu')).to.equal(undefined); // podspec.go checks those two names only
    expect(kaiwoToleration(KAIWO_DEFAULTS, 'amd.com/gpu')).to.equal(undefined);
  });
});

describe("Kaiwo's pool names (<vendor>-<model>-<N>gpu-<cores>core-<mem>gi)", () => {
  it('reads N the way Kaiwo does: the third part of an amd or nvidia pool; none for cpu-only pools and parts that are not <N>gpu', () => {
    expect(kaiwoPoolGpus('amd-mi300x-8gpu-86core-900gi')).to.equal(8);
    expect(kaiwoPoolGpus('nvidia-nvidiah10080gbhbm3-8gpu-86core-900gi')).to.equal(8);
    expect(kaiwoPoolGpus('cpu-only-0gpu-86core-900gi')).to.equal(0);
    expect(kaiwoPoolGpus('amd-mi300x-hf-8gpu-86core-900gi')).to.equal(0); // Kaiwo fails to parse "hf" and counts nothing
    expect(kaiwoPoolGpus('mi300x')).to.equal(undefined); // not Kaiwo's format: someone else's label
    expect(kaiwoPoolGpus('')).to.equal(undefined);
  });
});
