import { expect } from 'chai';
import fc from 'fast-check';
import { cleanMessage, MAX_MESSAGE, parseLogLine, redact, splitTimestamp } from '../../src/sources/zaplog.js';

const JSON_RECONCILE = JSON.stringify({
  level: 'error',
  ts: '2026-12-01T15:00:00.123Z',
  logger: 'controller.kaiwojob',
  msg: 'Reconciler error',
  controller: 'kaiwojob',
  controllerGroup: 'kaiwo.silogen.ai',
  controllerKind: 'KaiwoJob',
  KaiwoJob: { name: 'train', namespace: 'ml' },
  namespace: 'ml',
  name: 'train',
  reconcileID: '0f1e',
  error: 'failed to create Job: admission webhook denied the request',
  stacktrace: 'sigs.k8s.io/...',
});
const CONSOLE_RECONCILE =
  '2026-12-01T15:00:00Z\tERROR\tcontroller/controller.go:316\tReconciler error\t' +
  '{"controller": "kaiwoqueueconfig", "controllerGroup": "kaiwo.silogen.ai", "controllerKind": "KaiwoQueueConfig", ' +
  '"KaiwoQueueConfig": {"name":"kaiwo"}, "namespace": "", "name": "kaiwo", "reconcileID": "ab", "error": "namespaces \\"team-x\\" not found"}';

describe('controller-runtime log lines (zap JSON, zap console, klog)', () => {
  it('reads a JSON "Reconciler error": controller, object and message', () => {
    expect(parseLogLine(JSON_RECONCILE)).to.deep.equal({
      error: true,
      reconcileError: true,
      controller: 'kaiwojob',
      object: { kind: 'KaiwoJob', namespace: 'ml', name: 'train' },
      message: 'Reconciler error: failed to create Job: admission webhook denied the request',
    });
  });

  it('reads a console "Reconciler error" with caller and JSON fields, and a console error with a logger', () => {
    expect(parseLogLine(CONSOLE_RECONCILE)).to.deep.include({
      error: true,
      reconcileError: true,
      controller: 'kaiwoqueueconfig',
      object: { kind: 'KaiwoQueueConfig', name: 'kaiwo' },
    });
    expect(parseLogLine(CONSOLE_RECONCILE)?.message).to.equal('Reconciler error: namespaces "team-x" not found');
    const withLogger = parseLogLine('2026-12-01T15:00:00Z\tERROR\tcontroller.kaiwojob\tfailed to sync\t{"error": "boom"}');
    expect(withLogger).to.deep.include({ error: true, reconcileError: false, controller: 'kaiwojob', message: 'failed to sync: boom' });
  });

  it('counts error, dpanic, panic and fatal levels and klog E/F lines as errors; info, warn and debug are not', () => {
    for (const level of ['error', 'ERROR', 'dpanic', 'panic', 'fatal'])
      expect(parseLogLine(JSON.stringify({ level, msg: 'x' }))?.error, level).to.equal(true);
    for (const level of ['info', 'warn', 'debug'])
      expect(parseLogLine(JSON.stringify({ level, msg: 'Starting workers' }))?.error, level).to.equal(false);
    expect(parseLogLine('2026-12-01T15:00:00Z\tINFO\tStarting workers\t{"controller": "kaiwojob"}')?.error).to.equal(false);
    expect(parseLogLine('E1201 15:00:00.123456       1 reflector.go:158] failed to list *v1.Pod: the server is down')).to.deep.equal({
      error: true,
      reconcileError: false,
      message: 'failed to list *v1.Pod: the server is down',
    });
    expect(parseLogLine('I1201 15:00:00.123456       1 leaderelection.go:250] attempting to acquire leader lease')?.error).to.equal(false);
  });

  it('ignores what is not a log record: stack trace lines, plain text, broken JSON', () => {
    for (const l of [
      '\tsigs.k8s.io/controller-runtime/pkg/internal/controller.(*Controller).reconcileHandler',
      'goroutine 1 [running]:',
      '{"level":"error"',
      '',
      'panic: oops',
    ]) {
      expect(parseLogLine(l), l).to.equal(undefined);
    }
  });

  it('redacts what looks like a credential and truncates the message', () => {
    const secret = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl';
    const leaks = [
      `Authorization: Bearer ${secret}`,
      `token=${secret}`,
      'password="hunter2hunter2"',
      'client_secret: s3cr3t-value',
      'GET https://admin:p4ssw0rd@registry.example.com/v2',
      `key ${'Ab1'.repeat(16)}`,
      'api_key=abc123def456',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----',
    ];
    for (const l of leaks) {
      const r = redact(l);
      expect(r, l).to.include('[REDACTED]');
      for (const s of [secret, 'hunter2hunter2', 's3cr3t-value', 'p4ssw0rd', 'Ab1'.repeat(16), 'abc123def456', 'MIIEow'])
        expect(r, l).not.to.include(s);
    }
    expect(redact('KaiwoJob ml/train-7f3c9b2e-1d4a-4b8e-9c2f-0a1b2c3d4e5f failed')).to.equal(
      'KaiwoJob ml/train-7f3c9b2e-1d4a-4b8e-9c2f-0a1b2c3d4e5f failed',
    );
    const long = parseLogLine(JSON.stringify({ level: 'error', msg: 'x', error: 'y'.repeat(5000) }));
    expect(long?.message?.length).to.equal(MAX_MESSAGE);
    expect(cleanMessage('a\n\tb  c')).to.equal('a b c');
  });

  it("splits the kubelet's timestamp prefix with a key that orders by nanoseconds", () => {
    const a = splitTimestamp('2026-12-01T15:00:00.000000001Z {"level":"error"}');
    const b = splitTimestamp('2026-12-01T15:00:00.00000001Z x');
    const c = splitTimestamp('2026-12-01T15:00:01Z y');
    expect(a?.line).to.equal('{"level":"error"}');
    expect(a?.ms).to.equal(Date.parse('2026-12-01T15:00:00Z'));
    expect([c, a, b].map((x) => x?.key).sort()).to.deep.equal([a?.key, b?.key, c?.key]);
    expect(splitTimestamp('no timestamp here')).to.equal(undefined);
    expect(splitTimestamp('2026-13-45T99:00:00Z x')).to.equal(undefined);
  });

  it('never throws on arbitrary lines', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 400 }),
        fc.constantFrom('', '{', '2026-12-01T15:00:00Z\tERROR\t', 'E1201 15:00:00.1 1 x.go:1] '),
        (s, prefix) => {
          const e = parseLogLine(prefix + s);
          if (e?.message !== undefined) expect(e.message.length).to.be.at.most(MAX_MESSAGE);
          splitTimestamp(s);
        },
      ),
      { numRuns: 500 },
    );
  });
});
