import { formatBytes, parseSize } from '../../src/units.js'

describe('parseSize', () => {
  test.each([
    ['4GB', 4 * 1024 ** 3],
    ['512 MiB', 512 * 1024 ** 2],
    ['1.5g', Math.round(1.5 * 1024 ** 3)],
    ['1000', 1000],
    ['10k', 10240]
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes)
  })

  test.each(['', 'GB', '4 parsecs', '-1GB', '4GB5'])('%p is not a size', text => {
    expect(parseSize(text)).toBeUndefined()
  })
})

describe('formatBytes', () => {
  test.each([
    [0, '0 B'],
    [1536, '1.5 KiB'],
    [82 * 1024 ** 2, '82 MiB']
  ])('%d bytes reads %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text)
  })
})
