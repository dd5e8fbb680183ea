import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

/** A small but real OCI image layout, like the one BuildKit's local cache export writes. */
export const MediaType = {
  Index: 'application/vnd.oci.image.index.v1+json',
  Manifest: 'application/vnd.oci.image.manifest.v1+json',
  Config: 'application/vnd.oci.image.config.v1+json',
  Layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  CacheConfig: 'application/vnd.buildkit.cacheconfig.v0'
} as const

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
}

export interface Layout {
  dir: string
  index: Buffer
  /** Every blob the index reaches, each once. */
  blobs: Descriptor[]
  /** index.json plus every blob: what checkLocalCache counts and directorySize measures. */
  bytes: number
  config: Descriptor
  layers: Descriptor[]
  manifest: Descriptor
  /** Present when the index points at an image index that points at the manifest. */
  imageIndex?: Descriptor
}

export function blobFile(dir: string, descriptor: Descriptor): string {
  const [algorithm, hex] = descriptor.digest.split(':')
  return path.join(dir, 'blobs', algorithm, hex)
}

/** Stores content under its real sha256 digest. */
export async function writeBlob(dir: string, content: string | Buffer, mediaType: string): Promise<Descriptor> {
  const data = Buffer.from(content)
  const descriptor = { mediaType, digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: data.length }
  await fs.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true })
  await fs.writeFile(blobFile(dir, descriptor), data)
  return descriptor
}

export async function writeJsonBlob(dir: string, value: unknown, mediaType: string): Promise<Descriptor> {
  return writeBlob(dir, JSON.stringify(value), mediaType)
}

export async function writeIndex(dir: string, manifests: Descriptor[]): Promise<Buffer> {
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.Index, manifests }))
  await fs.mkdir(dir, { recursive: true })
  await fs.writeFile(path.join(dir, 'index.json'), index)
  return index
}

/**
 * index.json -> manifest -> config + layers; with nested, index.json -> image index -> manifest.
 * The layer contents name the layout, so two layouts with different names share no blob.
 */
export async function writeLayout(dir: string, { name = 'v1', layerCount = 2, nested = false } = {}): Promise<Layout> {
  const layers: Descriptor[] = []
  for (let i = 0; i < layerCount; i++) layers.push(await writeBlob(dir, `${name} layer ${i} `.repeat(20 + i), MediaType.Layer))
  const config = await writeJsonBlob(dir, { name, layers: layers.map(layer => layer.digest) }, MediaType.CacheConfig)
  const manifest = await writeJsonBlob(dir, { schemaVersion: 2, mediaType: MediaType.Manifest, config, layers }, MediaType.Manifest)
  const imageIndex = nested ? await writeJsonBlob(dir, { schemaVersion: 2, mediaType: MediaType.Index, manifests: [manifest] }, MediaType.Index) : undefined
  const index = await writeIndex(dir, [imageIndex ?? manifest])
  const blobs = [...layers, config, manifest, ...(imageIndex ? [imageIndex] : [])]
  return { dir, index, blobs, bytes: index.length + blobs.reduce((sum, blob) => sum + blob.size, 0), config, layers, manifest, imageIndex }
}
