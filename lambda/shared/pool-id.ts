/** Spacelift worker pool ids are ULIDs: 26 characters of Crockford base32 (no I, L, O, U). */
export const WORKER_POOL_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
