// `unipool/pg`: drop-in for pg-pool / pg.Pool. Types follow @types/pg's Pool.
import { EventEmitter } from 'events'
import type { PoolStats } from './native'

export interface PoolOptions {
  max?: number
  min?: number
  idleTimeoutMillis?: number
  connectionTimeoutMillis?: number
  maxUses?: number
  maxLifetimeSeconds?: number
  allowExitOnIdle?: boolean
  /** the Client class (default: require('pg').Client) */
  Client?: new (options?: any) => any
  log?: (...messages: any[]) => void
  verify?: (client: any, done: (err?: Error) => void) => void
  onConnect?: (client: any) => void | Promise<void>
  Promise?: PromiseConstructorLike
  /** unipool extension: pool name in metrics (default "pg") */
  poolName?: string
  /** everything else is passed to the Client constructor (host, port, user, ...) */
  [key: string]: any
}

export interface PoolClient {
  release(err?: Error | boolean): void
  query(...args: any[]): any
  [key: string]: any
}

export declare class Pool extends EventEmitter {
  constructor(options?: PoolOptions, Client?: new (options?: any) => any)
  readonly options: PoolOptions
  readonly totalCount: number
  readonly idleCount: number
  readonly waitingCount: number
  readonly expiredCount: number
  readonly ending: boolean
  readonly ended: boolean
  connect(): Promise<PoolClient>
  connect(callback: (err: Error | undefined, client: PoolClient | undefined, done: (release?: any) => void) => void): void
  query(text: any, values?: any): Promise<any>
  query(text: any, callback: (err: Error | undefined, result: any) => void): void
  query(text: any, values: any, callback: (err: Error | undefined, result: any) => void): void
  end(): Promise<void>
  end(callback: (err?: Error) => void): void
  /** unipool extension: the core's snapshot (Rust PoolStatus fields, camelCase) */
  stats(): PoolStats
  /** unipool extension: the core's Prometheus text */
  metricsText(): string
  on(event: 'connect' | 'acquire' | 'remove', listener: (client: PoolClient) => void): this
  on(event: 'release', listener: (err: Error | undefined, client: PoolClient) => void): this
  on(event: 'error', listener: (err: Error, client: PoolClient) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
}

export default Pool
