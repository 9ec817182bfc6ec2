// ESM entry point: the same objects as the CommonJS one (one addon instance).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const m = require('./index.js')

export const { Pool, createPool, fromEnv, configFromEnv, registerPromClient, errorCodes, closeReasons } = m
export default m
