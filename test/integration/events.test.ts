import { expect } from 'chai';
import { CoreV1Api, EventsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { EventRecorder, type EventInput, type EventOutcome } from '../../src/runtime/events.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { memoryLogger } from '../support/log.js';
import { ApiProxy } from '../support/proxy.js';

/** What kube-apiserver v1.36 answers for a path of an API group it does not serve (--runtime-config=events.k8s.io/v1=false). */
const GROUP_NOT_SERVED = { status: 404, body: '404 page not found\n', contentType: 'text/plain; charset=utf-8' };

describe('integration: EventRecorder on a real API server', function () {
  this.timeout(60_000);
  before(skipWithoutBackend);
  let kc: KubeConfig;
  let core: CoreV1Api;
  let ns = '';
  let regarding: EventInput['regarding'];

  before(async () => {
    kc = (await sharedCluster()).kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    ns = uniqueName('events');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'subject' } } });
    regarding = { apiVersion: 'v1', kind: 'ConfigMap', name: 'subject', namespace: ns, uid: cm.metadata?.uid ?? '' };
  });

  after(async () => {
    if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  const input = (reason: string, note = `${reason} happened`): EventInput => ({
    regarding,
    type: 'Warning',
    reason,
    action: 'Testing',
    note,
  });
  const coreEvents = async (reason: string) =>
    (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=subject,reason=${reason}` })).items;

  it('falls back to core/v1 Events when events.k8s.io is not served, and stays there', async () => {
    const proxy = await ApiProxy.start(kc);
    try {
      proxy.answer = (_method, path) => (path.startsWith('/apis/events.k8s.io/') ? GROUP_NOT_SERVED : undefined);
      let t = Date.now();
      const outcomes: EventOutcome[] = [];
      const recorder = new EventRecorder(proxy.kubeConfig(), {
        controller: 'kaiwo-monitor-test',
        instance: 'replica-1',
        log: memoryLogger(),
        now: () => t,
        onOutcome: (o) => outcomes.push(o),
      });

      expect(await recorder.emit(input('FallbackFirst'))).to.equal('created');
      const [first, ...more] = await coreEvents('FallbackFirst');
      expect(more).to.deep.equal([]);
      expect(first).to.deep.include({
        type: 'Warning',
        message: 'FallbackFirst happened',
        action: 'Testing',
        count: 1,
        reportingComponent: 'kaiwo-monitor-test',
        reportingInstance: 'replica-1',
      });
      expect(first?.source?.component).to.equal('kaiwo-monitor-test');
      expect(first?.involvedObject).to.deep.include({ kind: 'ConfigMap', name: 'subject', namespace: ns, uid: regarding.uid });

      // A repeat joins the series: the core Event's count goes to 2.
      t += 1000;
      expect(await recorder.emit(input('FallbackFirst'))).to.equal('series');
      expect((await coreEvents('FallbackFirst')).map((e) => e.count)).to.deep.equal([2]);
      // Another reason goes straight to core/v1: events.k8s.io was asked once, ever.
      expect(await recorder.emit(input('FallbackSecond'))).to.equal('created');
      expect(await coreEvents('FallbackSecond')).to.have.length(1);
      expect(proxy.count('POST', `/apis/events.k8s.io/v1/namespaces/${ns}/events`)).to.equal(1);
      expect(proxy.count('POST', `/api/v1/namespaces/${ns}/events`)).to.equal(2);
      expect(proxy.count('PATCH', `/api/v1/namespaces/${ns}/events/${first?.metadata.name ?? ''}`)).to.equal(1);
      expect(outcomes).to.deep.equal(['created', 'series', 'created']);
    } finally {
      await proxy.stop();
    }
  });

  it('does not mistake a missing namespace for a missing API: it keeps writing events.k8s.io Events', async () => {
    const recorder = new EventRecorder(kc, { controller: 'kaiwo-monitor-test', instance: 'replica-2', log: memoryLogger() });
    expect(await recorder.emit({ ...input('NoNamespace'), regarding: { ...regarding, namespace: uniqueName('missing') } })).to.equal(
      'failed',
    );
    expect(await recorder.emit(input('StillEventsV1'))).to.equal('created');
    const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns, fieldSelector: 'reason=StillEventsV1' });
    expect(list.items.map((e) => [e.reportingController, e.reportingInstance, e.regarding?.uid])).to.deep.equal([
      ['kaiwo-monitor-test', 'replica-2', regarding.uid],
    ]);
  });
});
