// ESM entry points: default and named imports resolve to the CommonJS objects.
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import unipool, { createPool, Pool as PlainPool, errorCodes } from 'unipool'
import PgPool, { Pool as NamedPgPool } from 'unipool/pg'

const require = createRequire(import.meta.url)

it('ESM and CommonJS entry points give the same objects', async () => {
  assert.equal(unipool.createPool, createPool)
  assert.equal(require('unipool').Pool, PlainPool)
  assert.equal(PgPool, NamedPgPool)
  assert.equal(require('unipool/pg'), PgPool)
  assert.equal(errorCodes.pool_closed, 'UNIPOOL_POOL_CLOSED')
  const p = createPool({ create: () => ({}) })
  const r = await p.acquire()
  p.release(r)
  await p.close()
  const pg = new PgPool({ max: 1 })
  await pg.end()
})
