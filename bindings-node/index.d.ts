import { EventEmitter } from 'events'
import type { PoolStats, PoolEvent, UnipoolError, ErrorCode } from './native'

export type { PoolStats, PoolEvent, UnipoolError, ErrorCode }

/** Configuration keys of the shared vocabulary (docs/semantics.md); camelCase or snake_case. */
export interface PoolConfigOptions {
  name?: string
  poolSize?: number
  maxOverflow?: number
  maxSize?: number
  minIdle?: number
  /** seconds (or "30s", "500ms") */
  poolTimeout?: number | string
  connectTimeout?: number | string
  poolRecycle?: number | string | null
  lifetimeJitter?: number
  idleTimeout?: number | string | null
  poolPrePing?: boolean
  prePingBypass?: number | string
  resetOnReturn?: 'rollback' | 'commit' | 'none' | boolean | null
  useLifo?: boolean
  maxUses?: number | null
  leakDetectionThreshold?: number | string | null
  initializationFailTimeout?: number | string | null
  maintenanceInterval?: number | string
  echoPool?: boolean
  /** any other spelling the core accepts (pool_size, max, idleTimeoutMillis, ...) */
  [key: string]: unknown
}

export interface PoolOptions<T> extends PoolConfigOptions {
  create: () => T | Promise<T>
  destroy?: (resource: T) => void | Promise<void>
  /** pre-ping: return false (or throw) for a broken resource; enables poolPrePing unless set */
  validate?: (resource: T) => boolean | void | Promise<boolean | void>
  /** read `${envPrefix}POOL_SIZE` etc. before the keys given here */
  envPrefix?: string
  /** 'manual': lifecycle time moves only with advanceClock(), maintenance only with maintain() (tests) */
  clock?: 'system' | 'manual'
}

export interface MaintenanceResult {
  /** close reasons of what was closed */
  closed: string[]
  creates: number
  leaks: number
  nextRunMs: number
}

export interface AcquireOptions {
  /** overrides pool_timeout for this call, ms */
  timeoutMs?: number
  /** aborting withdraws the queued request (rejects with an AbortError) */
  signal?: AbortSignal
}

export declare class Pool<T = unknown> extends EventEmitter {
  constructor(options: PoolOptions<T>)
  readonly name: string
  readonly closed: boolean
  acquire(opts?: AcquireOptions): Promise<T>
  release(resource: T): void
  destroy(resource: T): void
  use<R>(fn: (resource: T) => R | Promise<R>, opts?: AcquireOptions): Promise<R>
  stats(): PoolStats
  metricsText(): string
  config(): Record<string, string>
  dispose(): void
  resize(poolSize: number, maxOverflow?: number): void
  pause(): void
  resume(): void
  maintain(): Promise<MaintenanceResult>
  advanceClock(seconds: number): void
  close(): Promise<void>
  end(): Promise<void>
  on(event: 'event', listener: (e: PoolEvent) => void): this
  on(event: 'create' | 'acquire' | 'release', listener: (resource: T) => void): this
  on(event: 'destroy', listener: (resource: T, reason: string) => void): this
  on(event: 'error', listener: (err: Error) => void): this
  on(event: 'leak', listener: (count: number) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
}

export declare function createPool<T>(options: PoolOptions<T>): Pool<T>
export declare function fromEnv<T>(prefix: string | null, options: PoolOptions<T>): Pool<T>
export declare function configFromEnv(prefix?: string | null): Record<string, string>

export interface StatsSource {
  stats(): PoolStats
}
export declare function registerPromClient(
  pools: StatsSource | StatsSource[],
  opts?: { register?: unknown; prefix?: string; promClient?: unknown }
): unknown[]

export declare const errorCodes: Record<string, ErrorCode>
export declare const closeReasons: string[]

declare const _default: {
  Pool: typeof Pool
  createPool: typeof createPool
  fromEnv: typeof fromEnv
  configFromEnv: typeof configFromEnv
  registerPromClient: typeof registerPromClient
  errorCodes: typeof errorCodes
  closeReasons: typeof closeReasons
}
export default _default
