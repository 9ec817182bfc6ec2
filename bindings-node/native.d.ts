// Declarations of the napi addon (src/lib.rs), hand-written.
// test/types.test.js checks them against the compiled addon: every function
// and NativePool method declared here must exist there and vice versa.

export declare class NativePool {
  constructor(envPrefix: string | null, keys: string[], values: unknown[], onReady: () => void, manualClock?: boolean | null)
  tryAcquire(): number
  wait(waiterId: number, timeoutMs?: number | null, cancellable?: boolean | null): number
  takeReady(): number[]
  takeError(waiterId: number): UnipoolError | null
  cancel(waiterId: number): boolean
  fulfill(permitId: number, key: number): void
  fulfillIdle(permitId: number, key: number): boolean
  fail(permitId: number, kind: string, message: string): void
  dropPermit(permitId: number): void
  release(key: number): number
  releaseTake(key: number): number | number[]
  invalidate(key: number): void
  detach(key: number): void
  pingOk(key: number): void
  pingFailed(key: number): void
  takeRetired(): number[]
  needsPing(key: number): boolean
  useCount(key: number): number
  maintain(): number[]
  status(): PoolStats
  counts(): number[]
  metricsText(): string
  config(): string[]
  close(): number[]
  get closed(): boolean
  dispose(): number[]
  resize(poolSize: number, maxOverflow: number): number[]
  pause(): void
  resume(): void
  advanceClock(seconds: number): void
  setRef(on: boolean): void
  enableEvents(on: boolean): void
  takeEvents(): PoolEvent[]
}
export declare function closeReasonNames(): string[]
export declare function errorCodes(): Array<[string, string]>
export declare function configFromEnv(prefix: string): string[]
export declare function redact(text: string): string

/** Same fields as Rust `unipool::PoolStatus`, camelCase. */
export interface PoolStats {
  name: string
  open: number
  idle: number
  inUse: number
  pending: number
  waiting: number
  max: number | null
  poolSize: number
  maxOverflow: number
  minIdle: number
  overflow: number
  generation: number
  isPaused: boolean
  isClosed: boolean
  acquired: number
  created: number
  createFailures: number
  closed: number
  timeouts: number
  pings: number
  pingFailures: number
  leaksDetected: number
  invalidated: number
}

export type ErrorCode =
  | 'UNIPOOL_POOL_TIMEOUT'
  | 'UNIPOOL_POOL_CLOSED'
  | 'UNIPOOL_CONNECT_FAILED'
  | 'UNIPOOL_CONNECT_TIMEOUT'
  | 'UNIPOOL_CONNECTION_BROKEN'
  | 'UNIPOOL_INVALID_CONFIG'
  | 'UNIPOOL_INVALID_USAGE'
  | 'UNIPOOL_INTERNAL'

export interface UnipoolError extends Error {
  code: ErrorCode
  kind: string
  retryable: boolean
  /** PoolTimeout: the pool's counts when the wait ended. */
  status?: PoolStats
  /** PoolTimeout: how long the caller waited, ms. */
  waitedMs?: number
  /** InvalidConfig: the key as the caller spelt it. */
  configKey?: string
}

export interface PoolEvent {
  type: 'connect' | 'checkout' | 'checkin' | 'close' | 'invalidate' | 'timeout' | 'leak' | 'connect_failed' | string
  id?: number
  ms?: number
  reason?: string
  message?: string
}
