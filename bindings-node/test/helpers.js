'use strict'
// Shared by the test files (not a test file itself).
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const u = new URL(DATABASE_URL)
// `new Pool()` with no options must work as in pg-pool's suite: pg reads PG* variables.
process.env.PGHOST = process.env.PGHOST || u.hostname
process.env.PGPORT = process.env.PGPORT || String(u.port || 5432)
process.env.PGUSER = process.env.PGUSER || decodeURIComponent(u.username || 'postgres')
process.env.PGDATABASE = process.env.PGDATABASE || u.pathname.replace(/^\//, '') || 'test'
if (u.password && !process.env.PGPASSWORD) process.env.PGPASSWORD = decodeURIComponent(u.password)

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// A TCP server that accepts and never answers (connect timeouts) or resets.
const net = require('net')
function silentServer() {
  return new Promise((resolve) => {
    const sockets = new Set()
    const server = net.createServer((s) => {
      sockets.add(s)
      s.on('data', () => {})
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    })
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy()
            server.close(() => r())
          }),
      })
    })
  })
}

module.exports = { DATABASE_URL, wait, silentServer }
