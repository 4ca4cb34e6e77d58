import type { KubeConfig } from '../runtime/kubeconfig.js';
import { sanitize } from '../api/clamp.js';
import { setCondition, truncate } from '../api/conditions.js';
import { GROUP, PLURAL, VERSION } from '../api/schema.js';
import { isoSeconds } from '../api/time.js';
import { HEALTHY, type KaiwoMonitor, type KaiwoMonitorStatus, READY } from '../api/types.js';
import { statusSchema } from '../checks/registry.js';
import { jsonEqual, writeStatus } from '../runtime/status.js';

/**
 * The status as it can be stored: cut to the CRD's status schema (int64 counts, maxLength, maxItems, enums). When
 * cutting makes it equal to the stored status, the stored lastCheckTime is kept within the heartbeat, so a value
 * that is clamped every time does not cause a PATCH on every evaluation.
 */
export function fitStatus(
  status: KaiwoMonitorStatus,
  previous: KaiwoMonitorStatus | undefined,
  now: Date,
  heartbeatMs: number,
): KaiwoMonitorStatus {
  const fitted = (sanitize(status, statusSchema) ?? {}) as KaiwoMonitorStatus;
  const prevCheck = previous?.lastCheckTime;
  if (prevCheck !== undefined && fitted.lastCheckTime !== prevCheck && now.getTime() - Date.parse(prevCheck) < heartbeatMs) {
    const { lastCheckTime: _a, ...rest } = fitted;
    const { lastCheckTime: _b, ...prevRest } = previous ?? {};
    if (jsonEqual(rest, prevRest)) fitted.lastCheckTime = prevCheck;
  }
  return fitted;
}

/** Written when the API server rejects the computed status: nothing may keep claiming Ready or Healthy. */
export function rejectedStatus(m: KaiwoMonitor, apiMessage: string, now: Date): KaiwoMonitorStatus {
  const observedGeneration = m.metadata.generation ?? 1;
  let conditions = (m.status?.conditions ?? []).filter((c) => c.type === READY || c.type === HEALTHY);
  conditions = setCondition(
    conditions,
    {
      type: READY,
      status: 'False',
      reason: 'StatusRejected',
      observedGeneration,
      message: truncate(`the API server rejected the computed status: ${apiMessage}`, 1024),
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: HEALTHY,
      status: 'Unknown',
      reason: 'StatusRejected',
      observedGeneration,
      message: 'not reported: the computed status was rejected (see Ready)',
    },
    now,
  );
  return { observedGeneration, lastCheckTime: isoSeconds(now), conditions };
}

/**
 * The reconciler's write path: fit the status to the schema, PATCH it if it changed, and when the API server
 * still rejects it, write rejectedStatus instead. Returns the status the object has afterwards.
 */
export async function writeMonitorStatus(
  kc: KubeConfig,
  m: KaiwoMonitor,
  status: KaiwoMonitorStatus,
  opts: { now: Date; heartbeatMs: number },
): Promise<{ written: boolean; object?: KaiwoMonitor; status: KaiwoMonitorStatus; rejected?: string }> {
  const objectPath = `/apis/${GROUP}/${VERSION}/${PLURAL}/${m.metadata.name}`;
  const desired = fitStatus(status, m.status, opts.now, opts.heartbeatMs);
  const res = await writeStatus(kc, { objectPath }, m, desired, {
    rejected: (message) => fitStatus(rejectedStatus(m, message, opts.now), m.status, opts.now, opts.heartbeatMs),
  });
  return {
    written: res.written,
    status: res.status as KaiwoMonitorStatus,
    ...(res.object ? { object: res.object as KaiwoMonitor } : {}),
    ...(res.rejected !== undefined ? { rejected: res.rejected } : {}),
  };
}
