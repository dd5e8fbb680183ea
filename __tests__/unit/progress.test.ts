import { buildError } from '../../src/build.js'
import { allFromCache, ProgressTally, type ProgressSummary } from '../../src/progress.js'

/**
 * `docker buildx build --progress=plain` output of a warm partial build: two stages whose RUN
 * steps interleave (#9 and #10 repeat their header lines when their output resumes), one step
 * whose own output says CACHED, the cache import and export vertices.
 */
const WARM_PARTIAL = `#0 building with "buildx-cache-1-1-k2j4x9" instance using docker-container driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 412B done
#1 DONE 0.0s

#2 [internal] load metadata for docker.io/library/golang:1.22-alpine
#2 DONE 0.9s

#3 [internal] load .dockerignore
#3 transferring context: 2B done
#3 DONE 0.0s

#4 importing cache manifest from local:4128833958913456
#4 inferred cache manifest type: application/vnd.oci.image.index.v1+json done
#4 DONE 0.1s

#5 [base 1/3] FROM docker.io/library/golang:1.22-alpine@sha256:0466223b8544fb7d4ff04748acc4d75a608234bf4e79563bff208d2060c0dd79
#5 resolve docker.io/library/golang:1.22-alpine@sha256:0466223b8544fb7d4ff04748acc4d75a608234bf4e79563bff208d2060c0dd79 0.0s done
#5 DONE 0.0s

#6 [internal] load build context
#6 transferring context: 10.31kB done
#6 DONE 0.0s

#7 [base 2/3] RUN apk add --no-cache git
#7 CACHED

#8 [base 3/3] COPY go.mod go.sum ./
#8 CACHED

#9 [build 1/2] RUN go build -o /out/app ./cmd/app
#9 0.412 go: downloading golang.org/x/sync v0.7.0
#9 ...

#10 [test 1/1] RUN go test ./...
#10 0.388 ok  	example.com/app	0.011s
#10 ...

#9 [build 1/2] RUN go build -o /out/app ./cmd/app
#9 3.120 built /out/app
#9 DONE 3.4s

#10 [test 1/1] RUN go test ./...
#10 DONE 1.2s

#11 [build 2/2] RUN echo CACHED > /out/marker
#11 0.101 CACHED
#11 DONE 0.2s

#12 exporting to image
#12 exporting layers 0.3s done
#12 writing image sha256:9f7c2fbb8d1c2a1e0b4f5e3c7e4f1f4b6a1f2d3c4b5a6978877665544332211 done
#12 DONE 0.3s

#13 exporting cache to client directory
#13 preparing build cache for export
#13 writing layer sha256:3c5e0b1f6d0a4f2a8d9c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e 0.1s done
#13 writing config sha256:7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b done
#13 writing cache manifest sha256:1f2e3d4c5b6a79887766554433221100ffeeddccbbaa99887766554433221100 done
#13 DONE 0.8s
`

/** A two-platform build that fails on arm64, without a cache (no import vertex). */
const MULTI_PLATFORM_FAILED = `#0 building with "b1" instance using docker-container driver

#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#2 [linux/arm64 internal] load metadata for docker.io/library/alpine:3.20
#2 DONE 0.7s

#3 [linux/amd64 internal] load metadata for docker.io/library/alpine:3.20
#3 DONE 0.7s

#4 [linux/amd64 base 1/2] FROM docker.io/library/alpine:3.20@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d
#4 DONE 0.0s

#5 [linux/arm64 base 1/2] FROM docker.io/library/alpine:3.20@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d
#5 DONE 0.0s

#6 [linux/amd64 base 2/2] RUN make
#6 CACHED

#7 [linux/arm64 base 2/2] RUN make
#7 0.512 ERROR: this line is the command's own output
#7 0.513 make: *** [Makefile:3: all] Error 2
#7 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2
------
 > [linux/arm64 base 2/2] RUN make:
0.513 make: *** [Makefile:3: all] Error 2
------
Dockerfile:2
--------------------
   1 |     FROM alpine:3.20
   2 | >>> RUN make
--------------------
ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2
`

/** Everything from cache, including an unnamed stage (`[2/2]`) and a lower-case from. */
const ALL_CACHED = `#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#2 importing cache manifest from local:99
#2 DONE 0.3s
#3 [1/3] from docker.io/library/busybox:1.36
#3 CACHED
#4 [2/3] RUN echo one
#4 CACHED
#5 [3/3] RUN echo two
#5 CACHED
#6 exporting cache to client directory
#6 DONE 0.2s
`

/**
 * A partial build importing from a registry cache (the action's loopback registry): #16 and #7 were
 * taken from the cache, and their layers fetched when a later step needed them, so the printer shows
 * downloads and DONE where a local import shows CACHED. #9 ran (silently), #20 ran and printed.
 */
const REGISTRY_PARTIAL = `#5 importing cache manifest from 127.0.0.1:41681/buildx-cache:restored
#5 inferred cache manifest type: application/vnd.oci.image.index.v1+json done
#5 DONE 0.0s

#7 [base 1/2] RUN mkdir -p /out && echo "base built $(date -u)" > /out/base.txt
#7 sha256:75d72f4a5ea6d7f3e6cb3fdd5a86abc5299be5cf0378ecb0f1e4c75d77bf11b4 221B / 221B done
#7 sha256:d87134f6eb462930a0eaa39fa47cebe958ae6e1d6d30826580d52812c4e4a42d 1.07MB / 1.07MB 0.0s done
#7 extracting sha256:d87134f6eb462930a0eaa39fa47cebe958ae6e1d6d30826580d52812c4e4a42d 0.1s done
#7 DONE 0.1s

#7 [base 1/2] RUN mkdir -p /out && echo "base built $(date -u)" > /out/base.txt
#7 extracting sha256:75d72f4a5ea6d7f3e6cb3fdd5a86abc5299be5cf0378ecb0f1e4c75d77bf11b4 done
#7 DONE 0.2s

#9 [docs 2/2] RUN sleep 3 && cat /src/* > /out/docs.txt
#9 DONE 3.1s

#12 [deps 2/2] RUN sleep 3 && sha256sum /src/* > /out/deps.sum
#12 CACHED

#16 [tests 2/2] RUN sleep 3 && sha256sum /src/* > /out/tests.sum
#16 sha256:b0128fe7b99901ec95f84e64fba864107bfa323087546ab1597e43c63ebfd1f5 193B / 193B 0.0s done
#16 extracting sha256:b0128fe7b99901ec95f84e64fba864107bfa323087546ab1597e43c63ebfd1f5 0.0s done
#16 DONE 0.1s

#20 [final 4/4] RUN cat /app/docs/* && echo sha256:75d72f4a5ea6d7f3e6cb3fdd5a86abc5299be5cf0378ecb0f1e4c75d77bf11b4
#20 0.210 sha256:75d72f4a5ea6d7f3e6cb3fdd5a86abc5299be5cf0378ecb0f1e4c75d77bf11b4
#20 DONE 0.3s

#21 exporting cache to registry
#21 preparing build cache for export 0.1s done
#21 DONE 0.1s
`

const WARM_PARTIAL_SUMMARY: ProgressSummary = {
  cachedSteps: 2,
  totalSteps: 5,
  stepsRun: ['[build 1/2] RUN go build -o /out/app ./cmd/app', '[test 1/1] RUN go test ./...', '[build 2/2] RUN echo CACHED > /out/marker'],
  cacheImportMs: 100,
  cacheExportMs: 800,
  unfinished: [],
  errors: []
}

const TRANSCRIPTS: Record<string, [string, ProgressSummary]> = {
  'warm partial build': [WARM_PARTIAL, WARM_PARTIAL_SUMMARY],
  'failed two-platform build': [
    MULTI_PLATFORM_FAILED,
    {
      cachedSteps: 1,
      totalSteps: 2,
      stepsRun: ['[linux/arm64 base 2/2] RUN make'],
      cacheImportMs: undefined,
      cacheExportMs: undefined,
      unfinished: [],
      errors: ['[linux/arm64 base 2/2] RUN make: process "/bin/sh -c make" did not complete successfully: exit code: 2']
    }
  ],
  'registry cache, layers fetched for later steps': [
    REGISTRY_PARTIAL,
    {
      cachedSteps: 3,
      totalSteps: 5,
      stepsRun: ['[docs 2/2] RUN sleep 3 && cat /src/* > /out/docs.txt', '[final 4/4] RUN cat /app/docs/* && echo sha256:75d72f4a5ea6d7f3e6cb3fdd5a86abc5299be5cf0378ecb0f1e4c75d77bf11b4'],
      cacheImportMs: 0,
      cacheExportMs: 100,
      unfinished: [],
      errors: []
    }
  ],
  'all cached': [ALL_CACHED, { cachedSteps: 2, totalSteps: 2, stepsRun: [], unfinished: [], cacheImportMs: 300, cacheExportMs: 200, errors: [] }],
  'CRLF line ends': [WARM_PARTIAL.replace(/\n/g, '\r\n'), WARM_PARTIAL_SUMMARY],
  'no trailing newline': [ALL_CACHED.trimEnd(), { cachedSteps: 2, totalSteps: 2, stepsRun: [], unfinished: [], cacheImportMs: 300, cacheExportMs: 200, errors: [] }],
  'no output at all': ['', { cachedSteps: 0, totalSteps: 0, stepsRun: [], unfinished: [], cacheImportMs: undefined, cacheExportMs: undefined, errors: [] }]
}

function tally(text: string, chunkSize: number): ProgressSummary {
  const progress = new ProgressTally()
  for (let at = 0; at < text.length; at += chunkSize) progress.write(text.slice(at, at + chunkSize))
  return progress.summary()
}

describe('ProgressTally', () => {
  const rows = Object.keys(TRANSCRIPTS).flatMap(name => [1, 7, Number.MAX_SAFE_INTEGER].map(size => [name, size] as const))

  test.each(rows)('[%#] %s fed in chunks of %d characters', (name, size) => {
    const [text, expected] = TRANSCRIPTS[name]
    expect(tally(text, size)).toEqual(expected)
  })

  test('a step whose header is seen but that never finishes counts as run', () => {
    const progress = new ProgressTally()
    progress.write('#4 [build 2/3] RUN sleep 600\n#4 12.00 still going\n')
    expect(progress.summary()).toMatchObject({ cachedSteps: 0, totalSteps: 1, stepsRun: ['[build 2/3] RUN sleep 600'], unfinished: ['[build 2/3] RUN sleep 600'] })
  })

  test('lines that are not vertex lines are ignored', () => {
    const progress = new ProgressTally()
    progress.write('WARNING: No output specified with docker-container driver.\n#x [a 1/2] RUN no\n  #3 [a 2/2] RUN indented\n')
    expect(progress.summary()).toMatchObject({ totalSteps: 0, errors: [] })
  })
})

describe('buildError', () => {
  const noProgress: ProgressSummary = { cachedSteps: 0, totalSteps: 0, stepsRun: [], errors: [] }
  const withErrors: ProgressSummary = { ...noProgress, errors: ['[build 2/2] RUN make: exit code: 2'] }

  test.each<[string, string, ProgressSummary, string]>([
    ["buildx's own last words", MULTI_PLATFORM_FAILED, noProgress, 'ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2'],
    ['several ERROR: lines, in order', 'ERROR: one\n#5 ERROR: a vertex\nERROR: two\n', withErrors, 'ERROR: one\nERROR: two'],
    ['no ERROR: line: the failed vertices', '#7 ERROR: exit code: 2\nsomething else\n', withErrors, '[build 2/2] RUN make: exit code: 2'],
    ['neither: the last five lines', 'l1\nl2\nl3\nl4\nl5\nl6\nl7\n', noProgress, 'l3\nl4\nl5\nl6\nl7'],
    ['no output at all', '', noProgress, 'docker buildx build failed with no output'],
    ['CRLF line ends', 'x\r\nERROR: failed to solve: boom\r\n', noProgress, 'ERROR: failed to solve: boom']
  ])('[%#] %s', (_name, stderr, progress, expected) => {
    expect(buildError(stderr, progress)).toBe(expected)
  })
})

describe('allFromCache', () => {
  const summary = (cachedSteps: number, totalSteps: number, stepsRun: string[] = []): ProgressSummary => ({ cachedSteps, totalSteps, stepsRun, errors: [] })

  test.each<[string, ProgressSummary, boolean]>([
    ['every step cached', summary(13, 13), true],
    ['one step ran', summary(12, 13, ['[docs 2/2] RUN make']), false],
    ['no recognised steps (another frontend): not assumed cached', summary(0, 0), false],
    ['counts agree but a step is listed as run', summary(3, 3, ['[a 1/1] RUN x']), false]
  ])('[%#] %s', (_name, progress, expected) => {
    expect(allFromCache(progress)).toBe(expected)
  })
})
