// Shared test helpers: the binding, the repo's CLI and a real loopback API server per test file.
import { spawn, execFile, execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import http from 'node:http'
import { before, after } from 'node:test'

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

/**
 * Certificates made with openssl in `dir`, as a cluster would have them: a serving CA and a
 * serving certificate for 127.0.0.1 / localhost, a client CA signing `admin` (CN carol, O
 * system:masters: SubjectAccessReview allows everything) and `dave` (no permissions), and a
 * front-proxy CA signing `front-proxy` (CN front-proxy-client, as the aggregator presents).
 * @returns {(name: string) => string} the path of `name` (`'serving.crt'`, `'admin.key'`, ...)
 */
export function makeCerts (dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  for (const ca of ['serving-ca', 'client-ca', 'front-proxy-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.crt`)
  }
  const sign = (ca, name, subject, ext) => {
    writeFileSync(path.join(dir, `${name}.ext`), ext)
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`)
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`)
  }
  const client = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'
  sign('serving-ca', 'serving', '/CN=metrics-server', 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:metrics-server.kube-system.svc,DNS:localhost,IP:127.0.0.1,IP:::1\n')
  sign('client-ca', 'admin', '/CN=carol/O=system:masters', client)
  sign('client-ca', 'dave', '/CN=dave/O=team-d', client)
  sign('front-proxy-ca', 'front-proxy', '/CN=front-proxy-client', client)
  return (name) => path.join(dir, name)
}

/** Writes a kubeconfig for `url` that authenticates with client certificate `user` (`'admin'`). */
export function writeKubeconfig (file, url, cert, user = 'admin') {
  writeFileSync(file, `apiVersion: v1
kind: Config
clusters:
- name: km
  cluster: {server: "${url}", certificate-authority: "${cert('serving-ca.crt')}"}
contexts:
- name: km
  context: {cluster: km, user: ${user}, namespace: default}
current-context: km
users:
- name: ${user}
  user: {client-certificate: "${cert(`${user}.crt`)}", client-key: "${cert(`${user}.key`)}"}
`)
  return file
}

/**
 * An HTTPS GET with curl (a client independent of Node), authenticated with client certificate
 * `user` (none when null), plus extra curl arguments; resolves with `{ status, body, json }`.
 */
export function curl (url, cert, { user = 'admin', args = [] } = {}) {
  const auth = user ? ['--cert', cert(`${user}.crt`), '--key', cert(`${user}.key`)] : []
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--cacert', cert('serving-ca.crt'), ...auth, '-o', '-', '-w', '\n%{http_code}', ...args, url], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl ${url}: ${err.message}\n${stderr}`))
      const i = stdout.lastIndexOf('\n')
      const body = stdout.slice(0, i)
      let json
      try { json = JSON.parse(body) } catch {}
      resolve({ status: Number(stdout.slice(i + 1)), body, json })
    })
  })
}

/**
 * Starts `command args` and resolves once its first stdout line is `serving on URL`.
 * @returns {Promise<{child: import('node:child_process').ChildProcess, url: string, lines: string[], exited: Promise<{code: number|null, signal: string|null}>, stop: () => Promise<{code: number|null, signal: string|null}>}>}
 */
export async function startServing (command, args, { env = process.env, timeoutMs = 60_000 } = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (c) => { stderr += c })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const lines = []
  const input = createInterface({ input: child.stdout })
  input.on('line', (l) => lines.push(l))
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs)
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`${command} exited with ${code}: ${stderr}`)) })
    input.once('line', (line) => {
      clearTimeout(timer)
      const m = /^serving on (\S+)$/.exec(line)
      if (m) resolve(m[1])
      else reject(new Error(`unexpected first line: ${line}\n${stderr}`))
    })
  })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    return exited
  }
  return { child, url, lines, exited, stop, stderr: () => stderr }
}

/**
 * Before the tests of the calling file: a scratch folder with test certificates (`makeCerts`) and a
 * loopback API server, handed to `use`; after them, both removed.
 * @param {string} prefix of the scratch folder's name
 * @param {(shared: {dir: string, cert: (name: string) => string, loopback: Awaited<ReturnType<typeof startLoopback>>, serving: object}) => void} use
 */
export function certsAndLoopback (prefix, use) {
  let shared
  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix))
    const cert = makeCerts(dir)
    const loopback = await startLoopback()
    // What a custom metrics server on 127.0.0.1 (a free port) needs for client-certificate and
    // front-proxy authentication, with SubjectAccessReview answered by the loopback server.
    const serving = {
      bindAddress: '127.0.0.1',
      securePort: 0,
      tlsCertFile: cert('serving.crt'),
      tlsPrivateKeyFile: cert('serving.key'),
      clientCaFile: cert('client-ca.crt'),
      requestheaderClientCaFile: cert('front-proxy-ca.crt'),
      requestheaderAllowedNames: ['front-proxy-client'],
      kubeconfig: loopback.kubeconfig
    }
    shared = { dir, cert, loopback, serving }
    use(shared)
  })
  after(async () => {
    await shared?.loopback.stop()
    if (shared) rmSync(shared.dir, { recursive: true, force: true })
  })
}
