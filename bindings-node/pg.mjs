// ESM entry point of the pg-pool drop-in: `import Pool from 'unipool/pg'`
// (like `import Pool from 'pg-pool'`) or `import { Pool } from 'unipool/pg'`.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const Pool = require('./pg.js')

export { Pool }
export default Pool
