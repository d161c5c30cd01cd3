// Quantity: exact Kubernetes quantities, checked against known values and against the CLI.
import test from 'node:test'
import assert from 'node:assert/strict'
import { km, runCli } from './helpers.mjs'

const { Quantity, QuantityFormat, ErrorCode } = km

test('parses and prints the canonical form', () => {
  assert.equal(new Quantity('1.5Gi').toString(), '1536Mi')
  assert.equal(new Quantity('1.5').toString(), '1500m')
  assert.equal(new Quantity('250264852n').toString(), '250264852n')
  assert.equal(new Quantity('12e6').toString(), '12e6')
  assert.equal(new Quantity('1000m').toString(), '1')
  assert.equal(`${new Quantity('8318172Ki')}`, '8318172Ki')
})

test('toJSON writes the canonical string, as Kubernetes JSON does', () => {
  const q = new Quantity('1.5Gi')
  assert.equal(q.toJSON(), '1536Mi')
  assert.equal(JSON.stringify({ memory: q }), '{"memory":"1536Mi"}')
})

test('value and milliValue are exact BigInts rounded up (away from zero)', () => {
  const cpu = new Quantity('250264852n')
  assert.equal(cpu.milliValue, 251n)
  assert.equal(cpu.value, 1n)
  assert.equal(typeof cpu.value, 'bigint')
  assert.equal(new Quantity('8318172Ki').value, 8318172n * 1024n)
  assert.equal(new Quantity('-1.5').value, -2n)
  assert.equal(new Quantity('1e30').value, 10n ** 30n)
  assert.equal(new Quantity('1e30').milliValue, 10n ** 33n)
  assert.equal(new Quantity('1.5Gi').scaledValue(-9), 1610612736n * 10n ** 9n)
  assert.equal(new Quantity('0').value, 0n)
})

test('integer accessors throw ERR_KM_QUANTITY instead of wrapping when the value does not fit', () => {
  const huge = new Quantity('1e100')
  for (const read of [() => huge.value, () => huge.milliValue, () => new Quantity('1e36').milliValue, () => huge.scaledValue(0)]) {
    assert.throws(read, (e) => e instanceof Error && e.code === 'ERR_KM_QUANTITY' && /does not fit/.test(e.message))
  }
  assert.equal(new Quantity('1e36').value, 10n ** 36n)
})

test('invalid strings throw ERR_KM_QUANTITY with the input in the message', () => {
  for (const input of ['abc', '', '1.5.5', 'Ki', '1Qi', '1e2147483648']) {
    assert.throws(() => new Quantity(input), (e) => {
      assert.ok(e instanceof Error)
      assert.equal(e.code, ErrorCode.Quantity)
      assert.equal(e.code, 'ERR_KM_QUANTITY')
      return true
    }, `input ${JSON.stringify(input)}`)
  }
  assert.throws(() => new Quantity('abc'), /abc/)
})

test('cmp and equals compare values, with Quantity or string operands', () => {
  const one = new Quantity('1')
  assert.equal(one.cmp(new Quantity('1000m')), 0)
  assert.equal(one.cmp('1e0'), 0)
  assert.equal(one.cmp('2'), -1)
  assert.equal(one.cmp('999m'), 1)
  assert.equal(new Quantity('-1').cmp('1'), -1)
  assert.ok(one.equals('1000m'))
  assert.ok(!one.equals('1001m'))
  const sorted = ['1Gi', '100M', '1', '2Ki', '500m'].map((s) => new Quantity(s)).sort((a, b) => a.cmp(b)).map(String)
  assert.deepEqual(sorted, ['500m', '1', '2Ki', '100M', '1Gi'])
  assert.throws(() => one.cmp('nope'), (e) => e.code === 'ERR_KM_QUANTITY')
})

test('add and sub are exact and keep the left format', () => {
  assert.equal(new Quantity('1Gi').add('512Mi').toString(), '1536Mi')
  assert.equal(new Quantity('100m').add(new Quantity('900m')).toString(), '1')
  assert.equal(new Quantity('1').sub('250m').toString(), '750m')
  assert.equal(new Quantity('0').add('1Ki').toString(), '1Ki')
  assert.equal(new Quantity('0.1').add('0.2').cmp('0.3'), 0)
  assert.equal(new Quantity('1').neg().toString(), '-1')
  assert.throws(() => new Quantity('9e1000').add('9e1000'), (e) => e.code === 'ERR_KM_QUANTITY')
  assert.throws(() => new Quantity('1').add('x'), (e) => e.code === 'ERR_KM_QUANTITY')
})

test('toNumber is the nearest float', () => {
  assert.equal(new Quantity('1.5Gi').toNumber(), 1610612736)
  assert.equal(new Quantity('250264852n').toNumber(), 0.250264852)
  assert.equal(new Quantity('1e100').toNumber(), 1e100)
})

test('format, withFormat, factories and small helpers', () => {
  assert.equal(new Quantity('128Mi').format, QuantityFormat.BinarySI)
  assert.equal(new Quantity('128Mi').format, 'BinarySI')
  assert.equal(new Quantity('12e6').format, 'DecimalExponent')
  assert.equal(new Quantity('5G').format, 'DecimalSI')
  assert.equal(new Quantity('2Ki').withFormat(QuantityFormat.DecimalSI).toString(), '2048')
  assert.equal(Quantity.fromMilli(1500).toString(), '1500m')
  assert.equal(Quantity.fromInt(2048, QuantityFormat.BinarySI).toString(), '2Ki')
  assert.equal(new Quantity('-1500m').toPlainDecimal(), '-1.5')
  assert.equal(new Quantity('250264852n').toPlainDecimal(), '0.250264852')
  assert.ok(new Quantity('0m').isZero())
  assert.equal(new Quantity('-3').signum(), -1)
})

test('canonical form and milli-units equal `kubemetrics quantity -o json` for the same inputs', async () => {
  const inputs = ['1.5Gi', '250264852n', '8318172Ki', '12e6', '0.5', '-1.5', '100M', '1e30', '1000E', '0.1n', '1024Ei', '3.000001Mi']
  const lines = (await runCli(['quantity', ...inputs, '-o', 'json'])).trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(lines.length, inputs.length)
  for (const line of lines) {
    const q = new Quantity(line.input)
    assert.equal(q.toString(), line.canonical, line.input)
    assert.equal(q.milliValue.toString(), line.milli, line.input)
  }
})
