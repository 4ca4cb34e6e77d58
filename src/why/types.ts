import type { Finding } from '../api/types.js';
import type { KubeObject } from '../runtime/objects.js';

/** The kinds `why` accepts, by their canonical name. */
export type TargetKind = 'KaiwoJob' | 'KaiwoService' | 'Workload' | 'Job' | 'RayJob' | 'Deployment';

export interface Target {
  kind: TargetKind;
  namespace: string;
  name: string;
}

/** One pending Workload of a ClusterQueue, as Kueue orders them. */
export interface QueueEntry {
  namespace: string;
  name: string;
  priority: number;
  /** Kueue's queue-ordering time: creation, or the last eviction by PodsReady timeout or an admission check (ms). */
  at: number;
  /** GPUs it asks for, by resource. */
  gpus: Record<string, number>;
}

/** Where the job stands in its ClusterQueue. */
export interface Position {
  /** 'visibility': Kueue's pendingworkloads API; 'computed': from the pending Workloads of the queue's namespaces. */
  source: 'visibility' | 'computed';
  /** 0-based, like Kueue's positionInClusterQueue; undefined when the Workload is not among the pending ones read. */
  index?: number;
  pending: number;
  /** GPUs asked by the Workloads ahead of it, by resource (computed only). */
  aheadGpus?: Record<string, number>;
  strategy: string;
  /** Why it is not known exactly (too many Workloads to read, the API refused), when so. */
  note?: string;
}

/** The capacity row(s) of the job's ClusterQueue and the capacity findings that concern it. */
export interface CapacityView {
  columns: string[];
  rows: string[][];
  findings: Omit<Finding, 'component'>[];
}

/**
 * Everything `why` read, gathered by targeted GETs and selected lists (src/why/gather.ts). `null`: looked up and not
 * there; undefined: not looked up (not needed, or an earlier link already answers). `errors` holds what could not
 * be read, by step.
 */
export interface WhySnapshot {
  now: Date;
  target: Target;
  /** The object named. */
  object: KubeObject;
  /** The KaiwoJob/KaiwoService behind it (the target itself, or the owner named by Kaiwo's labels). */
  kaiwo?: KubeObject;
  /** The ClusterQueue Kaiwo submits to (spec.clusterQueue, else KaiwoConfig's default). */
  kaiwoQueue?: string;
  /** What Kaiwo created for it (Job, RayJob, AppWrapper, Deployment); null: not created. */
  child?: KubeObject | null;
  /** Kueue's Workload API: the versions served and the one read (undefined: Kueue not installed). */
  kueue: { served: string[]; version?: string };
  /** Kueue API version the installed Kaiwo speaks (v1beta1 for v0.1.x and v0.2). */
  kaiwoNeeds?: string;
  workloads: KubeObject[];
  /** The LocalQueue the job names (namespace/name), and the object. */
  localQueueName?: string;
  localQueue?: KubeObject | null;
  clusterQueueName?: string;
  clusterQueue?: KubeObject | null;
  position?: Position;
  capacity?: CapacityView;
  /** The job's pods that are not running (admitted work only), with their latest scheduling Events. */
  pods?: { pod: KubeObject; events: KubeObject[] }[];
  /** The largest allocatable of each GPU resource on any node of the job's flavors (for "larger than any node"). */
  largestNode?: Record<string, number>;
  /** The flavors Kueue assigned to admitted work, how many nodes match them, and those of them with GPUs lost. */
  assigned?: { flavors: string[]; nodes: number; lost: string[]; taints: string[] };
  errors: { step: string; message: string }[];
}

export type LinkState = 'ok' | 'hold' | 'wait' | 'unknown' | 'skip';

/** One link of the chain, top to bottom. */
export interface Link {
  step: string;
  state: LinkState;
  summary: string;
  details: string[];
}

export interface Answer {
  target: string;
  links: Link[];
  /** The first link that holds the job back, when one does. */
  heldBy?: string;
  cause: string;
  action?: string;
  position?: Position;
  /** 0: nothing holds it back; 1: something does; 2: cannot tell. */
  exitCode: 0 | 1 | 2;
}
