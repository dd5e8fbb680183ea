import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import * as core from '@actions/core'
import * as tc from '@actions/tool-cache'

const RELEASES = 'https://github.com/docker/buildx/releases'

const ARCHES: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm-v7', ppc64: 'ppc64le', s390x: 's390x' }

/** The release asset for this runner, e.g. buildx-v0.13.1.linux-amd64. */
export function buildxAssetName(version: string, platform: string, arch: string): string {
  const osName = platform === 'win32' ? 'windows' : platform
  const suffix = platform === 'win32' ? '.exe' : ''
  return `buildx-v${version}.${osName}-${ARCHES[arch] ?? arch}${suffix}`
}

export function buildxDownloadUrl(version: string, platform: string, arch: string): string {
  return `${RELEASES}/download/v${version}/${buildxAssetName(version, platform, arch)}`
}

/** 'latest' follows the releases page's redirect to the newest tag; no API token needed. */
async function resolveVersion(version: string): Promise<string> {
  if (version !== 'latest') return version
  const response = await fetch(`${RELEASES}/latest`, { method: 'HEAD', redirect: 'manual' })
  const tag = /\/tag\/v?([^/]+)$/.exec(response.headers.get('location') ?? '')
  if (!tag) throw new Error(`could not resolve the latest buildx release (HTTP ${response.status})`)
  return tag[1]
}

/** Installs the requested buildx as the docker CLI plugin of this job; the tool cache keeps it for later jobs. */
export async function installBuildx(requested: string): Promise<string> {
  const version = await resolveVersion(requested)
  let dir = tc.find('buildx', version)
  if (!dir) {
    const url = buildxDownloadUrl(version, process.platform, process.arch)
    core.info(`Downloading ${url}`)
    const downloaded = await tc.downloadTool(url)
    dir = await tc.cacheFile(downloaded, pluginFileName(), 'buildx', version)
  }
  const pluginsDir = path.join(process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'cli-plugins')
  await fs.mkdir(pluginsDir, { recursive: true })
  const plugin = path.join(pluginsDir, pluginFileName())
  await fs.copyFile(path.join(dir, pluginFileName()), plugin)
  await fs.chmod(plugin, 0o755)
  return version
}

function pluginFileName(): string {
  return process.platform === 'win32' ? 'docker-buildx.exe' : 'docker-buildx'
}
