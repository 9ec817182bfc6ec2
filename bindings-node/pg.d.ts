// `unipool/pg`: drop-in for pg-pool / pg.Pool. The types are @types/pg's own
// (install @types/pg next to pg, as for pg itself), so a `pg.Pool` variable
// accepts this Pool unchanged; unipool adds stats() and metricsText().
import type { Pool as PgPool, PoolConfig as PgPoolConfig, PoolClient } from 'pg'
import type { PoolStats, PoolEvent } from './native'

export interface PoolOptions extends PgPoolConfig {
  /** unipool extension: the pool's name in metrics and stats() (default "pg") */
  poolName?: string
}

export type { PoolClient, PoolStats, PoolEvent }

export declare class Pool extends PgPool {
  constructor(options?: PoolOptions, Client?: new (options?: any) => any)
  /** unipool extension: the core's snapshot (Rust PoolStatus fields, camelCase) */
  stats(): PoolStats
  /** unipool extension: the core's Prometheus text */
  metricsText(): string
}

export default Pool
