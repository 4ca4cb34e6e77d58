import { expect } from 'chai';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import type { SourceSpec } from '../../src/checks/types.js';
import { SourceManager } from '../../src/controller/sources.js';
import { Backoff } from '../../src/runtime/backoff.js';
import { Informer, type InformerOptions } from '../../src/runtime/informer.js';
import { slimNode } from '../../src/checks/gpu-nodes.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { memoryLogger } from '../support/log.js';
import { ApiProxy } from '../support/proxy.js';
import { waitFor } from '../support/wait.js';

const fast: Partial<InformerOptions> = { absentRetryMs: 200, backoff: new Backoff(50, 500) };

/** An informer with its events recorded as "type:name". */
function informer(kc: KubeConfig, opts: Omit<InformerOptions, 'log'>) {
  const events: string[] = [];
  const inf = new Informer(kc, { ...fast, ...opts, log: memoryLogger() });
  inf.on((type, obj) => events.push(`${type}:${obj.metadata.name}`));
  const names = () =>
    inf
      .list()
      .map((o) => o.metadata.name)
      .sort();
  return { inf, events, names };
}

/** Initial lists served on `path`: watches with sendInitialEvents (streaming lists). */
const streamed = (proxy: ApiProxy, path: string, query: Record<string, string> = {}) =>
  proxy.count('GET', path, { watch: true, query: { ...query, sendInitialEvents: 'true' } });

describe('integration: Informer and SourceManager on a real API server', function () {
  this.timeout(90_000);
  before(skipWithoutBackend);
  let kc: KubeConfig;
  let core: CoreV1Api;
  let ns = '';
  const stops: (() => Promise<unknown>)[] = [];
  const configMap = (name: string, labels: Record<string, string>, data: Record<string, string> = {}) =>
    core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels }, data } });

  before(async () => {
    kc = (await sharedCluster()).kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    ns = uniqueName('informer');
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  after(async () => {
    if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('goes absent on 404, syncs with the objects once the CRD is created, and emits deletes when the CRD goes', async () => {
    const group = `${uniqueName('widgets')}.kaiwo.test`;
    const { inf, events, names } = informer(kc, { path: `/apis/${group}/v1/namespaces/${ns}/widgets` });
    const states: string[] = [];
    inf.onState((s) => states.push(s));
    inf.start();
    stops.push(() => inf.stop());
    await waitFor('absent', () => inf.state === 'absent');
    expect(inf.synced, 'absent counts as synced: the check can say "not installed"').to.equal(true);
    expect(inf.lastError).to.include('404');

    const ext = kc.makeApiClient(ApiextensionsV1Api);
    const crd: V1CustomResourceDefinition = {
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
          },
        ],
      },
    };
    await ext.createCustomResourceDefinition({ body: crd });
    stops.push(() =>
      ext.deleteCustomResourceDefinition({ name: `widgets.${group}` }).then(
        () => undefined,
        () => undefined,
      ),
    );
    const custom = kc.makeApiClient(CustomObjectsApi);
    for (const name of ['w1', 'w2']) {
      await waitFor(
        `create ${name}`,
        async () => {
          await custom.createNamespacedCustomObject({
            group,
            version: 'v1',
            namespace: ns,
            plural: 'widgets',
            body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name } },
          });
          return true;
        },
        30_000,
        200,
      );
    }
    await waitFor('synced with both widgets', () => inf.state === 'synced' && names().join() === 'w1,w2', 30_000);
    expect(events).to.have.members(['add:w1', 'add:w2']);

    await ext.deleteCustomResourceDefinition({ name: `widgets.${group}` });
    await waitFor('absent again', () => inf.state === 'absent', 30_000);
    expect(names()).to.deep.equal([]);
    expect(events.filter((e) => e.startsWith('delete:')).sort()).to.deep.equal(['delete:w1', 'delete:w2']);
    expect(states).to.deep.equal(['absent', 'synced', 'absent']);
  });

  it('relists after a watch expires with 410 Gone: objects it missed are deleted, added and updated', async () => {
    const proxy = await ApiProxy.start(kc);
    stops.push(() => proxy.stop());
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const labelSelector = 'informer-test=relist';
    await configMap('a', { 'informer-test': 'relist' });
    await configMap('b', { 'informer-test': 'relist' }, { v: '1' });
    const { inf, events, names } = informer(proxy.kubeConfig(), { path, labelSelector });
    inf.start();
    stops.push(() => inf.stop());
    await waitFor('synced and watching', () => inf.state === 'synced' && proxy.openWatches(path, { labelSelector }) === 1);
    expect(names()).to.deep.equal(['a', 'b']);
    // kube-apiserver 1.36 serves streaming lists: the cache is built from one watch, with no LIST request.
    expect(inf.listMode).to.equal('stream');
    expect(proxy.count('GET', path, { watch: false }), 'no paged LIST').to.equal(0);
    const lists = streamed(proxy, path);

    // The informer misses three changes (the proxy drops their watch events), then its watch expires.
    proxy.hold(path, true);
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'a' });
    await configMap('c', { 'informer-test': 'relist' });
    await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: 'b',
      body: { metadata: { name: 'b', labels: { 'informer-test': 'relist' } }, data: { v: '2' } },
    });
    await waitFor('three watch events dropped', () => proxy.dropped >= 3);
    expect(names(), 'nothing seen while held').to.deep.equal(['a', 'b']);
    const before = events.length;
    proxy.hold(path, false);
    expect(proxy.expireWatches(path)).to.equal(1);

    await waitFor('relisted and watching again', () => names().join() === 'b,c' && proxy.openWatches(path, { labelSelector }) === 1);
    expect(events.slice(before)).to.have.members(['delete:a', 'add:c', 'update:b']);
    expect(inf.get(`${ns}/b`)?.data).to.deep.equal({ v: '2' });
    expect(streamed(proxy, path) - lists, 'one relist (a streaming list)').to.equal(1);
    expect(inf.state).to.equal('synced');
  });

  it('shares one informer between monitors: kept while one uses it, stopped when the last lets go', async () => {
    const proxy = await ApiProxy.start(kc);
    stops.push(() => proxy.stop());
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const source = (selector: string): SourceSpec => ({
      apiVersion: 'v1',
      plural: 'configmaps',
      kind: 'ConfigMap',
      namespace: ns,
      labelSelector: selector,
    });
    const shared = source('informer-test=shared');
    const control = source('informer-test');
    const changes: string[] = [];
    const sm = new SourceManager(proxy.kubeConfig(), memoryLogger(), (monitors) => changes.push([...monitors].sort().join('+')), fast);
    stops.push(() => sm.stop());
    const watching = (selector: string) => proxy.openWatches(path, { labelSelector: selector });

    sm.use('a', [shared]);
    sm.use('b', [shared]);
    sm.use('control', [control]);
    await waitFor('both sources watching', () => sm.allSynced && watching('informer-test=shared') === 1 && watching('informer-test') === 1);
    expect(streamed(proxy, path, { labelSelector: 'informer-test=shared' }), 'one list for two monitors').to.equal(1);

    await configMap('s1', { 'informer-test': 'shared' });
    await waitFor('a and b told together', () => changes.includes('a+b') && sm.view(shared).objects.length === 1);

    sm.release('a');
    const afterA = changes.length;
    await configMap('s2', { 'informer-test': 'shared' });
    await waitFor('b alone told', () => changes.slice(afterA).includes('b'));
    expect(
      sm
        .view(shared)
        .objects.map((o) => o.metadata.name)
        .sort(),
    ).to.deep.equal(['s1', 's2']);
    expect(
      changes.slice(afterA).filter((c) => c.includes('a+')),
      'a no longer told',
    ).to.deep.equal([]);
    expect(watching('informer-test=shared'), 'still one watch').to.equal(1);

    sm.release('b');
    await waitFor('the shared watch closed', () => watching('informer-test=shared') === 0);
    expect(sm.view(shared)).to.deep.equal({ state: 'pending', objects: [] });
    const afterB = changes.length;
    await configMap('s3', { 'informer-test': 'shared' });
    // Measured: the control source sees s3, so a still-running shared informer would have too.
    await waitFor('control sees s3', () => sm.view(control).objects.some((o) => o.metadata.name === 's3'));
    expect(changes.slice(afterB).filter((c) => c !== 'control')).to.deep.equal([]);
    expect(watching('informer-test'), 'the control source is untouched').to.equal(1);
  });

  it('drops updates its projection cannot see (kubelet heartbeats), keeps the list array until a real change', async () => {
    const name = uniqueName('hb-node');
    const cond = (ready: string, beat: string) => ({
      type: 'Ready',
      status: ready,
      reason: 'KubeletReady',
      message: 'ok',
      lastHeartbeatTime: beat,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    await core.createNode({ body: { metadata: { name, labels: { 'informer-test': name } } } });
    stops.push(() => core.deleteNode({ name }).catch(() => undefined));
    const status = (ready: string, beat: string) =>
      rawJson(kc, {
        method: 'PATCH',
        path: `/api/v1/nodes/${name}/status`,
        contentType: 'application/merge-patch+json',
        body: { status: { conditions: [cond(ready, beat)] } },
      });
    await status('True', '2026-01-01T00:00:00Z');
    const { inf, events } = informer(kc, { path: '/api/v1/nodes', labelSelector: `informer-test=${name}`, transform: slimNode });
    inf.start();
    stops.push(() => inf.stop());
    // The watch cache may stream the node before its first status lands; that status is then a real update.
    const readyTrue = () =>
      (inf.list()[0]?.status as { conditions?: { status?: string }[] } | undefined)?.conditions?.[0]?.status === 'True';
    await waitFor('synced with the node and its status', () => inf.state === 'synced' && inf.list().length === 1 && readyTrue());
    // managedFields carry the time of each write: kept, they would make a heartbeat in a new second an update.
    expect(inf.list()[0]?.metadata, 'managedFields dropped before the transform').not.to.have.property('managedFields');
    const listed = inf.list();
    const revision = inf.revision;
    const seenBefore = events.length;

    for (const beat of ['2026-01-01T00:00:10Z', '2026-01-01T00:00:20Z', '2026-01-01T00:00:30Z']) await status('True', beat); // heartbeats
    await status('False', '2026-01-01T00:00:40Z'); // a real change, after them on the same watch
    await waitFor('the real change', () => events.includes(`update:${name}`));
    expect(events[0]).to.equal(`add:${name}`);
    expect(events.slice(seenBefore), 'heartbeats were delivered before the change on one watch, and dropped').to.deep.equal([
      `update:${name}`,
    ]);
    expect(inf.revision).to.equal(revision + 1);
    expect(inf.list()).not.to.equal(listed);
    expect(inf.list(), 'the same array while nothing changes').to.equal(inf.list());
    const conds = (inf.list()[0]?.status as { conditions?: Record<string, unknown>[] }).conditions ?? [];
    expect(conds[0]).to.include({ status: 'False' }).and.not.to.have.property('lastHeartbeatTime');
  });

  it('pages with LIST when told to (or when a server rejects streaming lists): same cache, same events', async () => {
    const proxy = await ApiProxy.start(kc);
    stops.push(() => proxy.stop());
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const labelSelector = 'informer-test=paged';
    for (const n of ['p1', 'p2', 'p3']) await configMap(n, { 'informer-test': 'paged' });
    const { inf, events, names } = informer(proxy.kubeConfig(), { path, labelSelector, streamingList: false, pageSize: 2 });
    inf.start();
    stops.push(() => inf.stop());
    await waitFor('synced and watching', () => inf.state === 'synced' && proxy.openWatches(path, { labelSelector }) === 1);
    expect(names()).to.deep.equal(['p1', 'p2', 'p3']);
    expect(inf.listMode).to.equal('pages');
    expect(proxy.count('GET', path, { watch: false, query: { labelSelector } }), 'two pages of 2').to.equal(2);
    expect(streamed(proxy, path, { labelSelector })).to.equal(0);
    await configMap('p4', { 'informer-test': 'paged' });
    await waitFor('the watch after the pages', () => events.includes('add:p4'));
  });
});
