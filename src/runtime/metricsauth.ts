import { createHash } from 'node:crypto';
import type { KubeConfig } from './kubeconfig.js';
import { TokenBucket } from './token-bucket.js';
import type { Logger } from './log.js';
import { rawJson } from './rawrequest.js';

export type ReviewKind = 'tokenreview' | 'subjectaccessreview';
/** TokenReview: authenticated/unauthenticated; SubjectAccessReview: allowed/denied; either: error. */
export type ReviewResult = 'authenticated' | 'unauthenticated' | 'allowed' | 'denied' | 'error';

export interface AuthLimits {
  /** How long a review's answer (positive or negative) is reused. Default 10 s, like the API server's delegating authn/authz. */
  ttlMs: number;
  /** Cached answers kept (LRU). Default 4096. */
  maxEntries: number;
  /** Reviews in flight to the API server at once; beyond that requests get 429. Default 8. */
  maxInFlight: number;
  /** Reviews per second sustained (token bucket), and the burst; beyond that requests get 429. Default 5/s, 20. */
  perSecond: number;
  burst: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = { ttlMs: 10_000, maxEntries: 4096, maxInFlight: 8, perSecond: 5, burst: 20 };

interface User {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** 200 allowed, 401 unauthenticated, 403 forbidden, 429 too many reviews right now (retry after `retryAfterS`). */
export interface Decision {
  status: 200 | 401 | 403 | 429;
  user?: string;
  retryAfterS?: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

class Busy extends Error {}

/**
 * A bounded TTL cache of review answers keyed by a digest (never the token itself), with one review in flight
 * per key: concurrent requests with the same key share it.
 */
class ReviewCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();
  private readonly pending = new Map<string, Promise<T>>();
  constructor(
    private readonly limits: AuthLimits,
    private readonly admit: () => boolean,
    private readonly done: () => void,
    private readonly clock: () => number,
  ) {}

  async get(key: string, review: () => Promise<T>, cacheable: (v: T) => boolean): Promise<T> {
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) {
      this.entries.delete(key); // least recently used first
      this.entries.set(key, hit);
      return hit.value;
    }
    if (hit) this.entries.delete(key);
    const running = this.pending.get(key);
    if (running) return running;
    if (!this.admit()) throw new Busy();
    const p = review()
      .then((value) => {
        if (cacheable(value)) {
          this.entries.set(key, { value, expires: this.clock() + this.limits.ttlMs });
          while (this.entries.size > this.limits.maxEntries) {
            const oldest = this.entries.keys().next().value;
            if (oldest === undefined) break;
            this.entries.delete(oldest);
          }
        }
        return value;
      })
      .finally(() => {
        this.pending.delete(key);
        this.done();
      });
    this.pending.set(key, p);
    return p;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Authenticates a bearer token with a TokenReview and authorizes `get` on the non-resource URL with a
 * SubjectAccessReview, like controller-runtime's filters.WithAuthenticationAndAuthorization, with the API server's
 * delegating-authenticator protections: answers (allowed and denied) are cached for ttlMs by SHA-256 of the token
 * (and of user + path for authorization) in a bounded LRU; concurrent requests share one review; reviews in flight
 * and reviews per second are capped, and requests beyond the caps get 429, so clients with ever new garbage
 * tokens cannot drive load onto the API server. A failed review is answered 401 and not cached.
 */
export class TokenAuthorizer {
  private readonly limits: AuthLimits;
  private inFlight = 0;
  private readonly bucket: TokenBucket;
  private readonly authn: ReviewCache<User | undefined | Error>;
  private readonly authz: ReviewCache<boolean | Error>;

  constructor(
    private readonly kc: KubeConfig,
    private readonly log: Logger,
    /** `now`: the clock (ms) for the cache's TTL and the rate limit; Date.now unless a test injects one. */
    options: Partial<AuthLimits> & { now?: () => number } = {},
    private readonly onReview: (kind: ReviewKind, result: ReviewResult) => void = () => undefined,
  ) {
    const { now = Date.now, ...limits } = options;
    this.limits = { ...DEFAULT_AUTH_LIMITS, ...limits };
    this.bucket = new TokenBucket(this.limits.burst, 1000 / this.limits.perSecond, now());
    const admit = () => {
      if (this.inFlight >= this.limits.maxInFlight || !this.bucket.take(now())) return false;
      this.inFlight++;
      return true;
    };
    const done = () => {
      this.inFlight--;
    };
    this.authn = new ReviewCache(this.limits, admit, done, now);
    this.authz = new ReviewCache(this.limits, admit, done, now);
  }

  /** Cached answers (authentication + authorization), for tests and metrics. */
  get cached(): number {
    return this.authn.size + this.authz.size;
  }

  async check(authorization: string | undefined, path: string): Promise<Decision> {
    const m = /^Bearer +(\S+)$/i.exec(authorization ?? '');
    if (!m?.[1]) return { status: 401 };
    const token = m[1];
    try {
      const user = await this.authn.get(
        sha256(token),
        () => this.tokenReview(token),
        (v) => !(v instanceof Error),
      );
      if (!user || user instanceof Error) return { status: 401 };
      const key = sha256(JSON.stringify([user.username, user.uid ?? '', user.groups ?? [], user.extra ?? {}, path]));
      const allowed = await this.authz.get(
        key,
        () => this.accessReview(user, path),
        (v) => !(v instanceof Error),
      );
      if (allowed instanceof Error) return { status: 401 };
      return { status: allowed ? 200 : 403, user: user.username };
    } catch (err) {
      if (err instanceof Busy) return { status: 429, retryAfterS: 1 };
      throw err;
    }
  }

  private async tokenReview(token: string): Promise<User | undefined | Error> {
    try {
      const tr = await rawJson<{ status?: { authenticated?: boolean; user?: Partial<User> } } | null>(this.kc, {
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/tokenreviews',
        timeoutMs: 10_000,
        maxBytes: 1024 * 1024,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
      const u = tr?.status?.user;
      const ok = tr?.status?.authenticated === true && typeof u?.username === 'string' && u.username !== '';
      this.onReview('tokenreview', ok ? 'authenticated' : 'unauthenticated');
      if (!ok) return undefined;
      return {
        username: u.username ?? '',
        ...(typeof u.uid === 'string' ? { uid: u.uid } : {}),
        ...(Array.isArray(u.groups) ? { groups: u.groups.filter((g) => typeof g === 'string') } : {}),
        ...(u.extra && typeof u.extra === 'object' ? { extra: u.extra } : {}),
      };
    } catch (err) {
      this.onReview('tokenreview', 'error');
      this.log.warn('metrics authentication request failed', { error: err });
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  private async accessReview(user: User, path: string): Promise<boolean | Error> {
    try {
      const sar = await rawJson<{ status?: { allowed?: boolean } } | null>(this.kc, {
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        timeoutMs: 10_000,
        maxBytes: 1024 * 1024,
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            uid: user.uid,
            groups: user.groups,
            extra: user.extra,
            nonResourceAttributes: { path, verb: 'get' },
          },
        },
      });
      const allowed = sar?.status?.allowed === true;
      this.onReview('subjectaccessreview', allowed ? 'allowed' : 'denied');
      return allowed;
    } catch (err) {
      this.onReview('subjectaccessreview', 'error');
      this.log.warn('metrics authorization request failed', { error: err });
      return err instanceof Error ? err : new Error(String(err));
    }
  }
}
