export const PERMISSION_READ: 1
export const PERMISSION_WRITE: 2

export interface TokenScope {
  scope: string
  permission: number
}

export function mintRuntimeToken(options?: { writeScope?: string; readScopes?: string[]; ttlSeconds?: number }): string
export function scopesFromToken(token: string): TokenScope[]
export function writeScopeOf(scopes: TokenScope[]): string | undefined
export function readScopesOf(scopes: TokenScope[]): string[]
