/* The Lua scripts gantryd runs inside Redis: the epoch fence every
 * task-state write goes through, and the lease's acquire, renew and
 * release. Each is sent by its SHA1 (EVALSHA), computed here at start so
 * writes can wait in the backlog already formed; every new connection
 * loads them (SCRIPT LOAD) before anything else flows, and a NOSCRIPT
 * answer (a SCRIPT FLUSH under a live connection) makes the connection
 * again, which loads them again. */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "store_int.h"
#include "store/keys.h"

/* KEYS[1] gantry:epoch; ARGV[1] the writer's epoch; ARGV[2..] the write.
 * A newer epoch refuses it: another gantryd leads. An older one (Redis
 * lost the key, or a replica that had not seen the last INCR was
 * promoted) is raised to the writer's, so the next takeover counts past
 * it. */
static const char fence_lua[] =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local mine = tonumber(ARGV[1])\n"
    "if cur > mine then\n"
    "  return redis.error_reply('FENCED gantry:epoch is ' .. cur .. ', this write carries ' .. mine)\n"
    "end\n"
    "if cur < mine then redis.call('SET', KEYS[1], ARGV[1]) end\n"
    "return redis.pcall(unpack(ARGV, 2))\n";

/* KEYS[1] gantry:leader, KEYS[2] gantry:epoch; ARGV: lease ms, id, http,
 * listen, since, a holder's value we may replace (our own predecessor),
 * "1" to look without taking. A lease that is vacant, released, or the
 * one we may replace is taken: the epoch counted up and the lease SET NX
 * PX in one step, so of two asking at once exactly one wins. Returns {1,
 * value} when the lease is ours now, else {0, holder or "", its PTTL}. */
static const char acquire_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur and cur ~= ARGV[6] then\n"
    "  local ok, old = pcall(cjson.decode, cur)\n"
    "  if not (ok and type(old) == 'table' and old.released) then\n"
    "    return {0, cur, redis.call('PTTL', KEYS[1])}\n"
    "  end\n"
    "end\n"
    "if ARGV[7] == '1' then return {0, cur or '', -2} end\n"
    "if cur then redis.call('DEL', KEYS[1]) end\n"
    "local epoch = redis.call('INCR', KEYS[2])\n"
    "local v = cjson.encode({id = ARGV[2], http = ARGV[3], listen = ARGV[4],\n"
    "                        epoch = epoch, since = ARGV[5]})\n"
    "redis.call('SET', KEYS[1], v, 'NX', 'PX', ARGV[1])\n"
    "return {1, v}\n";

/* KEYS[1] gantry:leader, KEYS[2] gantry:epoch; ARGV: our value, lease ms,
 * our epoch. 1: renewed; 0: another holds it or a newer epoch exists;
 * 2: the key had vanished under us (Redis lost it) with no newer epoch,
 * so it is ours again. */
static const char renew_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "if cur then return 0 end\n"
    "local e = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if e > tonumber(ARGV[3]) then return 0 end\n"
    "if e < tonumber(ARGV[3]) then redis.call('SET', KEYS[2], ARGV[3]) end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "return 2\n";

/* KEYS[1] gantry:leader; ARGV: our value, the released value, its ms.
 * A stopping leader marks its lease released: a standby takes it at once
 * instead of waiting for it to lapse. */
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

static const char *const sources[SCRIPT_COUNT] = {fence_lua, acquire_lua, renew_lua, release_lua};
static char shas[SCRIPT_COUNT][41];
static unsigned loading;          /* SCRIPT LOADs not answered yet */
static void (*loaded_fn)(void);

/* Computes each script's SHA1 (once, at start). */
void store_scripts_init(void)
{
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        unsigned char md[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)sources[i], strlen(sources[i]), md);
        for (int k = 0; k < SHA_DIGEST_LENGTH; k++)
            snprintf(shas[i] + 2 * k, 3, "%02x", md[k]);
    }
}

/* Starts a call of script s with nkeys keys on the shared builder; the
 * caller adds the keys and arguments. */
struct resp_cmd *store_script_cmd(enum store_script s, int nkeys)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "EVALSHA");
    resp_str(c, shas[s]);
    resp_int(c, nkeys);
    return c;
}

/* The fence's arguments, in front of a task-state write: EVALSHA sha 1
 * gantry:epoch epoch. epoch_text must outlive the call that uses them. */
void store_fence_args(const char *pre[5], const char *epoch_text)
{
    pre[0] = "EVALSHA";
    pre[1] = shas[SCRIPT_FENCE];
    pre[2] = "1";
    pre[3] = KEY_EPOCH;
    pre[4] = epoch_text;
}

static void on_loaded(redisReply *r, uint64_t which, uint64_t b)
{
    (void)b;
    if (!r)
        return;                   /* the connection went; the next loads again */
    if (r->type != REDIS_REPLY_STRING || strcmp(r->str, shas[which]) != 0) {
        char why[160];
        snprintf(why, sizeof(why), "SCRIPT LOAD answered '%.100s'",
                 r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_ERROR ? r->str : "?");
        store_drop(why);
        return;
    }
    if (--loading == 0 && loaded_fn)
        loaded_fn();
}

/* Loads every script on the new connection, then calls done (not if the
 * connection goes first). */
void store_scripts_load(void (*done)(void))
{
    loaded_fn = done;
    loading = 0;
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        struct resp_cmd *c = store_cmd();
        resp_str(c, "SCRIPT");
        resp_str(c, "LOAD");
        resp_str(c, sources[i]);
        if (store_read(c, on_loaded, (uint64_t)i, 0) < 0) {
            store_drop("the scripts could not be sent");
            return;
        }
        loading++;
    }
}
