/**
 * When this process saw a cached object, by its own clock: remote timestamps (a Lease's renewTime) can be wrong,
 * so freshness is judged the way client-go's leader election does, by when the record was observed to change.
 */
export interface Observation {
  /** Local time (ms) of the first sighting of this object. */
  firstSeen: number;
  /** Local time (ms) its resourceVersion last changed after the first sighting; absent if never seen to change. */
  changedAt?: number;
}

// Keyed by the cached object itself, so entries go away with the cache entries (no bookkeeping per key).
const observations = new WeakMap<object, Observation>();

export function recordObservation(obj: object, o: Observation): void {
  observations.set(obj, o);
}

/** The observation the informer recorded for this cached object, if it came from an informer. */
export function observationOf(obj: object): Observation | undefined {
  return observations.get(obj);
}
