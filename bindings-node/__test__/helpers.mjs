// Shared test helpers: the binding, the repo's CLI and a real loopback API server per test file.
import { spawn, execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import http from 'node:http'

const here = path.dirname(fileURLToPath(import.meta.url))
export const packageDir = path.resolve(here, '..')
export const repoRoot = path.resolve(packageDir, '..')
export const cli = process.env.KUBEMETRICS_BIN ?? path.join(repoRoot, 'target', 'debug', 'kubemetrics')

const require = createRequire(import.meta.url)
/** The binding, loaded the way users load it (`require('kubemetrics')` resolves to index.js). */
export const km = require('../index.js')

/**
 * Starts `kubemetrics loopback-api` and resolves once it serves.
 * @returns {Promise<{url: string, kubeconfig: string, control: (p: string) => Promise<void>, stop: () => Promise<void>}>}
 */
export async function startLoopback (args = []) {
  const dir = mkdtempSync(path.join(tmpdir(), 'km-node-'))
  const kubeconfig = path.join(dir, 'kubeconfig')
  const child = spawn(cli, ['loopback-api', '--write-kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout })
    const timer = setTimeout(() => reject(new Error('loopback API did not start within 60 s')), 60_000)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`loopback API exited with ${code}`)))
    lines.once('line', (line) => {
      clearTimeout(timer)
      const m = /^serving on (http:\/\/\S+)/.exec(line)
      if (m) resolve(m[1])
      else reject(new Error(`unexpected first line: ${line}`))
    })
  })
  const control = (p) => request('PUT', `${url}/_loopback/${p}`)
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  return { url, kubeconfig, control, stop }
}

/** A bare HTTP request (no fetch, so that Node 18 needs no flag); resolves with the body. */
export function request (method, url) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { body += c })
      res.on('end', () => (res.statusCode < 300 ? resolve(body) : reject(new Error(`${method} ${url}: ${res.statusCode} ${body}`))))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Runs the repo's CLI and returns its stdout. */
export function runCli (args, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(cli, args, { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cli} ${args.join(' ')}: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

/** Asserts that `promise` rejects with an Error carrying `code` (and `status` when given). */
export async function rejectsWith (assert, promise, code, { status, message } = {}) {
  let error
  try {
    await promise
  } catch (e) {
    error = e
  }
  assert.ok(error instanceof Error, `expected a rejection with ${code}, got ${error === undefined ? 'a fulfilled promise' : String(error)}`)
  assert.equal(error.code, code, `code of: ${error.message}`)
  if (status !== undefined) assert.equal(error.status, status, `status of: ${error.message}`)
  if (message !== undefined) assert.match(error.message, message)
  return error
}
