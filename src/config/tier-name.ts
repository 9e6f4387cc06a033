/**
 * The names a tier may have in config.yaml. They end up in Redis keys (`<prefix>:<tier>:<identifier>`,
 * so never a ':') and in `RateLimit` header strings, so they are kept to a safe alphabet.
 */
export const TIER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
