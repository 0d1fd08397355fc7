"""The official `openai` and `ollama` Python clients against `lingo dev-llm`,
lingo's stand-in LLM server (it is not a model): every reply shape the
stand-in sends, the edge ones included, must parse in the clients real
applications use, so the stand-in cannot drift from the APIs it imitates.

Run: `python test_clients.py <path to lingo>` (make test does, from a venv
with requirements.txt).
"""

import socket
import subprocess
import sys
import time
import unittest
import urllib.request

import ollama
import openai

LINGO = sys.argv.pop(1) if len(sys.argv) > 1 else "target/release/lingo"

SYSTEM = "You translate live-stream chat messages."
USER = "Source language: ko\nTarget language: en\nText:\nㅋㅋㅋ"
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandIn:
    """One `lingo dev-llm` process with `flags`, on a free port."""

    def __init__(self, *flags):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        listen = ["--listen", f"127.0.0.1:{self.port}", "--latency", "0ms"]
        self.process = subprocess.Popen([LINGO, "dev-llm", *listen, *flags], stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                urllib.request.urlopen(self.url + "/stats", timeout=1)
                return
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class OpenAiClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plain = StandIn("--served-model", "Qwen/Qwen2.5-7B-Instruct")
        cls.thinking = StandIn("--reasoning", "separate", "--reasoning-tokens", "10", "--api-key", "sekrit")
        cls.inline = StandIn("--reasoning", "inline", "--reasoning-tokens", "10")
        cls.busy = StandIn("--fault", "status:503:2", "--retry-after-date")

    @classmethod
    def tearDownClass(cls):
        for server in (cls.plain, cls.thinking, cls.inline, cls.busy):
            server.stop()

    def client(self, server, api_key="unused"):
        return openai.OpenAI(base_url=server.url + "/v1", api_key=api_key, max_retries=0)

    def test_a_completion_and_its_usage(self):
        reply = self.client(self.plain).chat.completions.create(model="Qwen/Qwen2.5-7B-Instruct", messages=MESSAGES)
        self.assertEqual(reply.choices[0].message.content, "lol")
        self.assertEqual(reply.choices[0].finish_reason, "stop")
        self.assertGreater(reply.usage.total_tokens, 0)

    def test_a_reply_cut_at_max_tokens_says_length(self):
        long = [{"role": "user", "content": "Target language: en\nText:\n" + "a long line " * 10}]
        reply = self.client(self.plain).chat.completions.create(model="Qwen/Qwen2.5-7B-Instruct", messages=long, max_tokens=2)
        self.assertEqual(reply.choices[0].finish_reason, "length")
        self.assertEqual(len(reply.choices[0].message.content), 8)

    def test_streaming(self):
        stream = self.client(self.plain).chat.completions.create(
            model="Qwen/Qwen2.5-7B-Instruct", messages=MESSAGES, stream=True
        )
        chunks = list(stream)
        self.assertEqual("".join(c.choices[0].delta.content or "" for c in chunks), "lol")
        self.assertEqual(chunks[-1].choices[0].finish_reason, "stop")

    def test_models_listed_and_others_not_found(self):
        client = self.client(self.plain)
        self.assertEqual([m.id for m in client.models.list()], ["Qwen/Qwen2.5-7B-Instruct"])
        with self.assertRaises(openai.NotFoundError):
            client.chat.completions.create(model="qwen", messages=MESSAGES)

    def test_reasoning_apart_and_thinking_that_fills_the_limit(self):
        client = self.client(self.thinking, api_key="sekrit")
        reply = client.chat.completions.create(model="any", messages=MESSAGES)
        message = reply.choices[0].message
        self.assertEqual(message.content, "lol")
        self.assertTrue(message.model_extra["reasoning_content"].startswith("The user wants"))
        spent = client.chat.completions.create(model="any", messages=MESSAGES, max_tokens=5)
        self.assertIsNone(spent.choices[0].message.content)
        self.assertEqual(spent.choices[0].finish_reason, "length")
        off = client.chat.completions.create(
            model="any", messages=MESSAGES, max_tokens=5, extra_body={"chat_template_kwargs": {"enable_thinking": False}}
        )
        self.assertEqual(off.choices[0].message.content, "lol")

    def test_reasoning_inline(self):
        reply = self.client(self.inline).chat.completions.create(model="any", messages=MESSAGES)
        content = reply.choices[0].message.content
        self.assertTrue(content.startswith("<think>\n") and content.endswith("</think>\n\nlol"), content)

    def test_a_wrong_key_and_a_busy_server(self):
        with self.assertRaises(openai.AuthenticationError):
            self.client(self.thinking, api_key="wrong").chat.completions.create(model="any", messages=MESSAGES)
        with self.assertRaises(openai.InternalServerError) as busy:
            self.client(self.busy).chat.completions.create(model="any", messages=MESSAGES)
        self.assertEqual(busy.exception.status_code, 503)
        self.assertTrue(busy.exception.response.headers["retry-after"].endswith(" GMT"))


class OllamaClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plain = StandIn("--served-model", "qwen2.5:7b")
        cls.thinking = StandIn("--reasoning", "separate", "--reasoning-tokens", "10")

    @classmethod
    def tearDownClass(cls):
        cls.plain.stop()
        cls.thinking.stop()

    def test_chat_generate_and_list(self):
        client = ollama.Client(host=self.plain.url)
        chat = client.chat(model="qwen2.5:7b", messages=MESSAGES, stream=False, keep_alive=-1)
        self.assertEqual(chat.message.content, "lol")
        self.assertEqual(chat.done_reason, "stop")
        generated = client.generate(model="qwen2.5:7b", system=SYSTEM, prompt=USER, stream=False, keep_alive="5m")
        self.assertEqual(generated.response, "lol")
        self.assertEqual([m.model for m in client.list().models], ["qwen2.5:7b"])

    def test_streaming_chat(self):
        parts = list(ollama.Client(host=self.plain.url).chat(model="qwen2.5:7b", messages=MESSAGES, stream=True))
        self.assertEqual("".join(p.message.content for p in parts), "lol")
        self.assertTrue(parts[-1].done)

    def test_num_predict_cuts_and_says_length(self):
        long = [{"role": "user", "content": "Target language: en\nText:\n" + "a long line " * 10}]
        reply = ollama.Client(host=self.plain.url).chat(model="qwen2.5:7b", messages=long, options={"num_predict": 2})
        self.assertEqual(reply.done_reason, "length")
        self.assertEqual(len(reply.message.content), 8)

    def test_refusals_ollama_gives(self):
        client = ollama.Client(host=self.plain.url)
        with self.assertRaises(ollama.ResponseError) as unserved:
            client.chat(model="llama3", messages=MESSAGES)
        self.assertEqual(unserved.exception.status_code, 404)
        with self.assertRaises(ollama.ResponseError) as keep_alive:
            client.chat(model="qwen2.5:7b", messages=MESSAGES, keep_alive="-1")
        self.assertEqual(keep_alive.exception.status_code, 400)

    def test_thinking_apart_and_switched_off(self):
        client = ollama.Client(host=self.thinking.url)
        reply = client.chat(model="any", messages=MESSAGES)
        self.assertTrue(reply.message.thinking.startswith("The user wants"))
        self.assertEqual(reply.message.content, "lol")
        off = client.chat(model="any", messages=MESSAGES, think=False)
        self.assertIsNone(off.message.thinking)


if __name__ == "__main__":
    unittest.main(verbosity=2)
