"""prompts: a paged prompt list and prompts/get with argument checks.

The fixture prompts of the official conformance suite (test_simple_prompt,
test_prompt_with_arguments, test_prompt_with_image) are among them.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/prompts
"""

from __future__ import annotations

from ... import jsonrpc
from ..faults import Fault
from ..paging import InvalidCursor, page
from . import ReferenceFeature

PAGE_SIZE = 2
SIMPLE_PROMPT_TEXT = "This is a simple prompt for testing."
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"


def _argument(name: str, description: str, required: bool) -> dict:
    return {"name": name, "description": description, "required": required}


PROMPTS = [
    {
        "name": "greeting",
        "description": "Asks for a greeting.",
        "arguments": [_argument("name", "who to greet", True), _argument("style", "formal or casual", False)],
    },
    {"name": "test_simple_prompt", "description": "A prompt without arguments."},
    {
        "name": "test_prompt_with_arguments",
        "description": "A prompt with two required arguments.",
        "arguments": [_argument("arg1", "first argument", True), _argument("arg2", "second argument", True)],
    },
    {"name": "test_prompt_with_image", "description": "A prompt holding an image."},
]

FAULTS = {
    "prompt-unknown-result": Fault("an unknown prompt name gets a result", "test_unknown_prompt_rejected", "warned"),
    "prompt-missing-argument-accepted": Fault(
        "prompts/get without a required argument succeeds", "test_prompt_missing_argument_rejected", "warned"
    ),
    "prompt-image-not-base64": Fault(
        "a prompt's image data is not base64", "test_prompts_answer_get", also=("test_prompts_get_with_image",)
    ),
    "fixture-prompt-arguments-unlisted": Fault(
        "test_prompt_with_arguments is listed without its arguments", "test_prompts_list"
    ),
    "fixture-simple-prompt-empty": Fault("test_simple_prompt has no messages", "test_prompts_get_simple"),
    "fixture-prompt-arguments-ignored": Fault(
        "test_prompt_with_arguments ignores its arguments", "test_prompts_get_with_args"
    ),
    "fixture-prompt-image-missing": Fault("test_prompt_with_image holds no image", "test_prompts_get_with_image"),
}


def user(content: dict) -> dict:
    return {"role": "user", "content": content}


def text(value: str) -> dict:
    return {"type": "text", "text": value}


class Feature(ReferenceFeature):
    capability_name = "prompts"

    def capability(self) -> dict | None:
        return {"listChanged": False}

    def handlers(self):
        return {"prompts/list": self.on_list, "prompts/get": self.on_get}

    def prompts(self) -> list[dict]:
        if not self.server.has("fixture-prompt-arguments-unlisted"):
            return PROMPTS
        return [
            {k: v for k, v in p.items() if k != "arguments" or p["name"] != "test_prompt_with_arguments"}
            for p in PROMPTS
        ]

    def on_list(self, message) -> list[dict]:
        try:
            chunk, next_cursor = page(self.prompts(), (message.params or {}).get("cursor"), PAGE_SIZE, "prompts")
        except InvalidCursor as error:
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, str(error))]
        result: dict = {"prompts": chunk}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        return [self.server.result(message.id, result)]

    def on_get(self, message) -> list[dict]:
        params = message.params or {}
        name, arguments = params.get("name"), params.get("arguments") or {}
        prompt = next((p for p in PROMPTS if p["name"] == name), None)
        if prompt is None:
            if self.server.has("prompt-unknown-result"):
                return [self.server.result(message.id, {"messages": [user(text(f"no prompt {name}"))]})]
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, f"Unknown prompt: {name}")]
        problem = self.argument_problem(prompt, arguments)
        if problem:
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, problem)]
        return [
            self.server.result(
                message.id, {"description": prompt["description"], "messages": self.messages(name, arguments)}
            )
        ]

    def argument_problem(self, prompt: dict, arguments) -> str | None:
        if not isinstance(arguments, dict) or not all(isinstance(v, str) for v in arguments.values()):
            return "prompt arguments must be an object of strings"
        required = [a["name"] for a in prompt.get("arguments", []) if a.get("required")]
        missing = [a for a in required if a not in arguments]
        if missing and not self.server.has("prompt-missing-argument-accepted"):
            return f"missing required arguments: {missing}"
        return None

    def messages(self, name: str, arguments: dict) -> list[dict]:
        if name == "greeting":
            return [
                user(
                    text(
                        f"Write a {arguments.get('style', 'friendly')} greeting for {arguments.get('name', 'someone')}."
                    )
                )
            ]
        if name == "test_simple_prompt":
            return [] if self.server.has("fixture-simple-prompt-empty") else [user(text(SIMPLE_PROMPT_TEXT))]
        if name == "test_prompt_with_arguments":
            if self.server.has("fixture-prompt-arguments-ignored"):
                arguments = {"arg1": "?", "arg2": "?"}
            return [
                user(text(f"Prompt with arguments: arg1='{arguments.get('arg1')}', arg2='{arguments.get('arg2')}'"))
            ]
        return self.image_messages()

    def image_messages(self) -> list[dict]:
        if self.server.has("fixture-prompt-image-missing"):
            return [user(text("Imagine an image here."))]
        data = "not base64!" if self.server.has("prompt-image-not-base64") else PNG_1X1
        return [
            user({"type": "image", "data": data, "mimeType": "image/png"}),
            user(text("Please analyze the image above.")),
        ]
