// Azurite access: SAS URLs for the client and the few direct operations the server needs.
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import {
  BlobSASPermissions,
  BlobServiceClient,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters
} from '@azure/storage-blob'

// Azurite's well-known development account; the key is public (documented by Microsoft).
const ACCOUNT = 'devstoreaccount1'
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
const SAS_LIFETIME_MS = 60 * 60 * 1000

/**
 * Account URL as the client should see it. An IP or "localhost" needs Azurite's path style
 * (account in the path). A name like devstoreaccount1.blob.core.windows.net (mapped to 127.0.0.1
 * in /etc/hosts) gives production-style URLs, which matters: @actions/cache downloads with the
 * Azure SDK only when the host ends in .blob.core.windows.net, and with a plain GET otherwise.
 */
export function publicAccountUrl(host, port) {
  const pathStyle = isIP(host) || host === 'localhost'
  return pathStyle ? `http://${host}:${port}/${ACCOUNT}` : `http://${host}:${port}`
}

export class BlobStore {
  constructor({ port, publicHost, container }) {
    this.credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY)
    this.service = new BlobServiceClient(`http://127.0.0.1:${port}/${ACCOUNT}`, this.credential)
    this.container = this.service.getContainerClient(container)
    this.publicUrl = `${publicAccountUrl(publicHost, port)}/${container}`
  }

  async ensureContainer() {
    await this.container.createIfNotExists()
  }

  async isUp() {
    try {
      await this.service.getProperties()
      return true
    } catch {
      return false
    }
  }

  signedUrl(blobName, permissions) {
    const sas = generateBlobSASQueryParameters(
      {
        containerName: this.container.containerName,
        blobName,
        permissions: BlobSASPermissions.parse(permissions),
        startsOn: new Date(Date.now() - 60 * 1000),
        expiresOn: new Date(Date.now() + SAS_LIFETIME_MS)
      },
      this.credential
    )
    return `${this.publicUrl}/${blobName}?${sas.toString()}`
  }

  uploadUrl(blobName) {
    return this.signedUrl(blobName, 'cw')
  }

  downloadUrl(blobName) {
    return this.signedUrl(blobName, 'r')
  }

  /** Size of the committed blob, or undefined when nothing was uploaded. */
  async size(blobName) {
    try {
      return (await this.container.getBlobClient(blobName).getProperties()).contentLength
    } catch (error) {
      if (error.statusCode === 404) return undefined
      throw error
    }
  }

  /**
   * Overwrites the blob with random bytes of the same length, so only its content is wrong.
   * part "all" breaks the archive from its first byte; "tail" keeps the first half intact, so
   * tar extracts some files before it fails (a restore that leaves a partial directory).
   */
  async corrupt(blobName, part = 'all') {
    const blob = this.container.getBlockBlobClient(blobName)
    const data = await blob.downloadToBuffer()
    const from = part === 'tail' ? Math.floor(data.length / 2) : 0
    randomBytes(data.length - from).copy(data, from)
    await blob.uploadData(data)
    return data.length
  }

  async delete(blobName) {
    await this.container.getBlobClient(blobName).deleteIfExists()
  }
}
