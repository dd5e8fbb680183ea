import { totalMs, type MountReport, type RunReport } from './report.js'
import { formatBytes, formatSeconds } from './units.js'

/** The job summary as markdown: the verdict first, then what was moved, then where the time went. */
export function renderSummary(report: RunReport): string {
  const sections = [headline(report), factsTable(report), mountTable(report), phaseTable(report), warnings(report), stepsRun(report)]
  return sections.filter(section => section !== '').join('\n\n') + '\n'
}

function headline(report: RunReport): string {
  const build = report.build
  const verdict = !build ? '⚠️ no build ran' : build.succeeded ? '✅ build succeeded' : '❌ build failed'
  const cache = report.cacheMode === 'off' ? 'cache off' : `cache ${hitWords(report)}`
  const steps = build ? ` — ${build.cachedSteps} of ${build.totalSteps} steps from cache` : ''
  return `### buildx-cache-action: ${verdict}, ${cache}${steps}`
}

function hitWords(report: RunReport): string {
  switch (report.restore?.hit) {
    case 'exact':
      return 'hit (exact: nothing changed)'
    case 'partial':
      return 'hit (partial: some steps changed)'
    default:
      return 'miss (cold build)'
  }
}

function factsTable(report: RunReport): string {
  const rows: [string, string][] = []
  if (report.versions) rows.push(['Tools', plain(`docker ${report.versions.docker}; ${report.versions.buildx}`)])
  if (report.cacheMode !== 'off') {
    rows.push(['Cache mode', exportModeText(report)])
    rows.push(['Restored', restoreText(report)])
    if (report.newCache) rows.push(['New cache', newCacheText(report)])
    if (report.rotation) rows.push(['Rotation', rotationText(report)])
    if (report.save) rows.push(['Saved', saveText(report)])
  }
  if (report.build && !report.build.succeeded && report.build.error) rows.push(['Build error', code(report.build.error)])
  if (rows.length === 0) return ''
  return ['| | |', '|---|---|', ...rows.map(([name, value]) => `| ${name} | ${value} |`)].join('\n')
}

function exportModeText(report: RunReport): string {
  const mode = `mode=${report.exportMode ?? report.cacheMode}`
  return report.modeFallback ? `${mode} (lowered from max: ${plain(report.modeFallback)})` : mode
}

function restoreText(report: RunReport): string {
  const restore = report.restore
  if (!restore || restore.hit === 'miss') return `nothing${restore?.note ? ` (${plain(restore.note)})` : ''}`
  const size = restore.archiveBytes !== undefined ? `${formatBytes(restore.archiveBytes)} downloaded` : 'local copy'
  return `${code(restore.key ?? '')}, ${size}${lazyText(restore)}${restore.note ? ` (${plain(restore.note)})` : ''}`
}

function lazyText(restore: NonNullable<RunReport['restore']>): string {
  if (!restore.remoteFiles) return ''
  const fetched = restore.fetchedFiles ?? 0
  const bytes = fetched > 0 ? ` (${formatBytes(restore.fetchedBytes ?? 0)} more downloaded)` : ''
  return `; ${restore.remoteFiles} large files (${formatBytes(restore.remoteBytes ?? 0)}) left in the cache service, ${fetched} of them fetched when the build needed them${bytes}`
}

function newCacheText(report: RunReport): string {
  const fresh = report.newCache!
  const limit = fresh.overLimit !== undefined ? ` — over cache-max-size (${formatBytes(fresh.overLimit)}): next run exports mode=min` : ''
  return `${formatBytes(fresh.bytes)}, key ${code(fresh.key)}${limit}`
}

function rotationText(report: RunReport): string {
  const rotation = report.rotation!
  if (!rotation.replaced) return plain(rotation.note)
  const before = rotation.bytesBefore !== undefined ? `${formatBytes(rotation.bytesBefore)} → ` : ''
  const after = rotation.bytesAfter !== undefined ? formatBytes(rotation.bytesAfter) : ''
  return `old cache replaced by the new export (${before}${after}); ${plain(rotation.note)}`
}

function saveText(report: RunReport): string {
  const save = report.save!
  switch (save.status) {
    case 'saved':
      return `${code(save.key ?? '')}, ${save.archiveBytes !== undefined ? formatBytes(save.archiveBytes) : 'size unknown'} uploaded${storedText(save.storedFiles, save.storedBytes)}`
    case 'unchanged':
      return 'skipped: the cache did not change (0 B uploaded)'
    default:
      return `${save.status === 'disabled' ? 'skipped' : 'not saved'}${save.note ? `: ${plain(save.note)}` : ''} (0 B uploaded)`
  }
}

function mountTable(report: RunReport): string {
  if (!report.mounts || report.mounts.length === 0) return ''
  const rows = report.mounts.map(mount => `| ${code(mount.id)} | ${mountRestoreText(mount)} | ${mountAfterText(mount)} |`)
  return ['| Cache mount | Restored into the builder | Stored with the new cache |', '|---|---|---|', ...rows].join('\n')
}

function mountRestoreText(mount: MountReport): string {
  if (mount.restoredBytes === undefined) return 'no (empty mount)'
  const size = formatBytes(mount.restoredBytes)
  if (mount.unpacked === 'before-build') return size
  if (mount.unpacked === 'on-demand') return `${size}, when a step using it ran`
  return `not needed (${size} saved): no step using it ran`
}

function mountAfterText(mount: MountReport): string {
  const size = mount.savedBytes !== undefined ? `${formatBytes(mount.savedBytes)}, ` : ''
  const note = mount.note ? ` (${plain(mount.note)})` : ''
  switch (mount.outcome) {
    case 'extracted':
      return `${size}read back after the build${note}`
    case 'kept':
      return `${size}unchanged${note || ': no step using it ran'}`
    case 'skipped':
      return `not saved${note}`
    case 'failed':
      return `not saved: ${plain(mount.note ?? 'could not be read back')}`
    default:
      return 'nothing (no successful build)'
  }
}

function storedText(files: number | undefined, bytes: number | undefined): string {
  if (!files) return ''
  return ` (${files} large ${files === 1 ? 'file' : 'files'}, ${formatBytes(bytes ?? 0)}, already in the cache service: not uploaded again)`
}

function phaseTable(report: RunReport): string {
  if (report.phases.length === 0) return ''
  const total = totalMs(report.phases)
  const rows = report.phases.map(phase => `| ${phase.name}${alongsideNote(phase.alongside)} | ${formatSeconds(phase.ms)} |`)
  const inside: string[] = []
  if (report.build?.cacheImportMs !== undefined) inside.push(`cache import ${formatSeconds(report.build.cacheImportMs)}`)
  if (report.build?.cacheExportMs !== undefined) inside.push(`cache export ${formatSeconds(report.build.cacheExportMs)}`)
  const note = inside.length > 0 ? `\n\nInside the build, BuildKit reported: ${inside.join(', ')}.` : ''
  return ['| Phase | Time |', '|---|---|', ...rows, `| **Total** | **${formatSeconds(total)}** |`].join('\n') + note
}

function warnings(report: RunReport): string {
  if (report.warnings.length === 0) return ''
  return ['**Warnings** (the build went on without the cache where needed):', ...report.warnings.map(w => `- ${w}`)].join('\n')
}

function stepsRun(report: RunReport): string {
  const run = report.build?.stepsRun ?? []
  if (run.length === 0) return ''
  const shown = run.slice(0, 20).map(step => `- ${code(step)}`)
  const more = run.length > 20 ? [`- … and ${run.length - 20} more`] : []
  return ['<details><summary>Steps that ran (not from cache)</summary>', '', ...shown, ...more, '', '</details>'].join('\n')
}

/** Free text in a table cell: a pipe would end the cell, a newline the row. */
function plain(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

function code(text: string): string {
  return '`' + plain(text.replace(/`/g, "'")) + '`'
}

function alongsideNote(alongside = 0): string {
  if (alongside === 0) return ''
  return alongside === 1 ? ' (alongside the line above)' : ` (alongside the ${alongside} lines above)`
}
