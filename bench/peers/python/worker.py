"""The BullMQ Python peer: PyPI `bullmq`'s Worker, doing what lingo's
cache-hit pipeline does per job (one Redis GET, the same return value).

Usage: worker.py --redis redis://127.0.0.1:PORT --queue NAME --concurrency N
Prints `ready` once started; closes on SIGTERM.
"""

import argparse
import asyncio
import signal

import redis.asyncio as aioredis
from bullmq import Worker


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--queue", default="translation-jobs")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    kv = aioredis.Redis.from_url(args.redis, decode_responses=True)

    async def translate(job, _token):
        langs = job.data["targetLanguages"]
        keys = [f"bench:tr:{lang}:{job.data['text']}" for lang in langs]
        hits = await asyncio.gather(*(kv.get(key) for key in keys))
        if any(hit is None for hit in hits):
            raise RuntimeError(f"cache miss: {job.data['text']}")
        return {
            "translations": dict(zip(langs, hits)),
            "sourceLanguage": None,
            "providers": {lang: "cache" for lang in langs},
        }

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    worker = Worker(args.queue, translate, {"connection": args.redis, "concurrency": args.concurrency})
    await kv.ping()
    print("ready", flush=True)
    await stop.wait()
    await worker.close()
    await kv.aclose()


if __name__ == "__main__":
    asyncio.run(main())
