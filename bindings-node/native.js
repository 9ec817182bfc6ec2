'use strict'
// Loads the compiled addon (napi-rs). `bash build.sh` puts it next to this file.
const path = require('path')

let native
try {
  native = require(path.join(__dirname, 'unipool.node'))
} catch (err) {
  const e = new Error(
    `unipool: cannot load the native addon ${path.join(__dirname, 'unipool.node')} ` +
      `(${err && err.message}); build it with "bash bindings-node/build.sh" before "npm pack"`
  )
  e.code = 'UNIPOOL_INTERNAL'
  e.cause = err
  throw e
}
module.exports = native
