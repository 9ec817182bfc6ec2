'use strict'
// The hand-written declarations against the compiled addon and the JS entry
// points: a name declared but missing (or present but undeclared) fails here;
// tsc checks that the .d.ts files are valid and usable from TypeScript.
const { it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')

const pkgDir = path.dirname(require.resolve('unipool/package.json'))
const native = require(path.join(pkgDir, 'native.js'))

function declared(file) {
  const text = fs.readFileSync(path.join(pkgDir, file), 'utf8')
  const fns = [...text.matchAll(/^export declare function (\w+)/gm)].map((m) => m[1]).sort()
  const cls = /export declare class NativePool \{([\s\S]*?)\n\}/.exec(text)
  const methods = cls
    ? [...cls[1].matchAll(/^\s+(?:get )?(\w+)\(/gm)].map((m) => m[1]).filter((n) => n !== 'constructor').sort()
    : []
  return { fns, methods }
}

it('native.d.ts declares exactly what the addon exports', () => {
  const d = declared('native.d.ts')
  const fns = Object.keys(native).filter((k) => typeof native[k] === 'function' && k !== 'NativePool').sort()
  assert.deepEqual(d.fns, fns)
  const proto = native.NativePool.prototype
  const methods = Object.getOwnPropertyNames(proto).filter((k) => k !== 'constructor').sort()
  assert.deepEqual(d.methods, methods)
})

it('index.d.ts and pg.d.ts cover the runtime exports', () => {
  const idx = require('unipool')
  const text = fs.readFileSync(path.join(pkgDir, 'index.d.ts'), 'utf8')
  for (const k of Object.keys(idx)) assert.match(text, new RegExp(`export declare (const|function|class) ${k}\\b`), k)
  const Pool = require('unipool/pg')
  const pgText = fs.readFileSync(path.join(pkgDir, 'pg.d.ts'), 'utf8')
  // pg.d.ts extends @types/pg's Pool; our own additions must be declared
  for (const m of ['stats', 'metricsText']) {
    assert.equal(typeof Pool.prototype[m], 'function', m)
    assert.match(pgText, new RegExp(`\\b${m}\\(`), m)
  }
  assert.match(pgText, /extends PgPool/)
})

it('the declarations type-check from a TypeScript app (tsc --strict)', () => {
  const tsc = path.join(process.cwd(), 'node_modules', '.bin', 'tsc')
  assert.ok(fs.existsSync(tsc), 'typescript is installed in the scratch app')
  execFileSync(
    tsc,
    ['--noEmit', '--strict', '--preserveSymlinks', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', path.join(__dirname, 'fixtures', 'usage.ts')],
    { stdio: 'pipe' }
  )
})
