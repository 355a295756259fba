"""Class descriptions from a language model (OpenAI-compatible endpoint).

Works with any server speaking ``POST {base_url}/chat/completions`` (vLLM,
llama.cpp server, Ollama, hosted APIs). Each class is asked once; the reply
must be a JSON object with the description fields, validated against the
``granzsl_mm.descriptions/v1`` schema. Transient failures (HTTP 429 / 5xx,
timeouts, connection errors) and malformed replies are retried with
exponential backoff, a bounded number of times. Finished classes are
appended, one JSON line each, to a partial file; a restarted run reads it
and never asks again for a finished class.
"""
import json
import os
import os.path as osp
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, Dict, List, Optional, Sequence

from tqdm import tqdm

from granzsl_mm.structures.class_names import (
    read_class_names as _read_class_names,
)

from .format import TEXT_FIELDS, validate_entry
from .io import save_descriptions
from .llm_client import ChatCompletionsClient, MalformedReply, RetryableError

__all__ = ['RetryableError', 'MalformedReply', 'ChatCompletionsClient',
           'build_messages', 'parse_reply', 'describe_class',
           'read_partial', 'generate_descriptions', 'read_class_names']

_ASKED_FIELDS = TEXT_FIELDS
SYSTEM_PROMPT = (
    'You describe visual categories for an image recognition system. '
    'Answer with one JSON object only, no prose, with these keys (each a '
    'list of short strings in English):\n'
    '"attributes": 3-8 distinct visual attributes, each a verb phrase that '
    'completes "a <class>, which ..." (e.g. "has retractable claws", '
    '"is usually striped black and white");\n'
    '"parents": 1-3 broader categories (bare nouns, e.g. "pet", "animal");\n'
    '"children": 0-6 kinds or hyponyms (bare nouns, e.g. "Persian");\n'
    '"synonyms": 0-3 other names (bare nouns);\n'
    '"cooccurrence": 2-6 objects or scenes often seen with it, written as '
    'they read after "with" (e.g. "a sofa", "grass");\n'
    '"sentences": 2-5 short sentences describing what a photo of it shows.\n'
    'If the name is not a visual thing (e.g. a place name, an adjective, a '
    'brand), describe what photos tagged with it typically show.')


def build_messages(class_name: str,
                   context: Optional[str] = None) -> List[dict]:
    """Chat messages asking for the description of one class.

    Args:
        class_name (str): The class name.
        context (str, optional): What the labels are (e.g. "tags of Flickr
            photos (NUS-WIDE)").

    Returns:
        list[dict]: System and user messages.
    """
    user = f'Class name: "{class_name}".'
    if context:
        user += f' Context: {context}.'
    return [{'role': 'system', 'content': SYSTEM_PROMPT},
            {'role': 'user', 'content': user}]


def parse_reply(text: str, class_name: str) -> dict:
    """Parse and validate a model reply into a description entry.

    Args:
        text (str): The reply (a JSON object, possibly inside a code fence
            or surrounded by prose).
        class_name (str): For the messages.

    Returns:
        dict: Entry with the asked fields and ``source: "llm"``.

    Raises:
        MalformedReply: If no valid entry can be read.
    """
    if not isinstance(text, str):
        raise MalformedReply(f'{class_name!r}: reply content is not text')
    match = re.search(r'\{.*\}', text, flags=re.S)
    if match is None:
        raise MalformedReply(f'{class_name!r}: no JSON object in reply')
    try:
        obj = json.loads(match.group(0))
    except json.JSONDecodeError as e:
        raise MalformedReply(f'{class_name!r}: bad JSON: {e}') from e
    if not isinstance(obj, dict):
        raise MalformedReply(f'{class_name!r}: reply is not an object')
    entry = {}
    for field in _ASKED_FIELDS:
        values = obj.get(field, [])
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            raise MalformedReply(f'{class_name!r}: {field!r} is not a list')
        cleaned = [v.strip() for v in values
                   if isinstance(v, str) and v.strip()]
        if cleaned:
            entry[field] = list(dict.fromkeys(cleaned))
    entry['source'] = 'llm'
    problems = validate_entry(class_name, entry)
    if problems or not entry.get('attributes'):
        raise MalformedReply('; '.join(problems) or
                             f'{class_name!r}: no attributes in reply')
    return entry


def describe_class(complete: Callable[[List[dict]], str],
                   class_name: str,
                   context: Optional[str] = None,
                   max_attempts: int = 6,
                   backoff: float = 1.0,
                   max_backoff: float = 60.0,
                   sleep: Callable[[float], None] = time.sleep) -> dict:
    """Ask for one class, retrying transient failures and bad replies.

    Args:
        complete (callable): ``messages -> reply text`` (e.g.
            ``ChatCompletionsClient.complete``).
        class_name (str): The class.
        context (str, optional): See :func:`build_messages`.
        max_attempts (int): Attempts in total (>= 1).
        backoff (float): First delay in seconds; doubled each retry.
        max_backoff (float): Upper bound of a delay.
        sleep (callable): Sleep function (tests may record the delays).

    Returns:
        dict: The validated entry.

    Raises:
        RuntimeError: After ``max_attempts`` failures (last error chained).
    """
    messages = build_messages(class_name, context)
    last: Optional[Exception] = None
    for attempt in range(max_attempts):
        try:
            return parse_reply(complete(messages), class_name)
        except (RetryableError, MalformedReply) as e:
            last = e
            if attempt + 1 == max_attempts:
                break
            delay = backoff * 2 ** attempt * random.uniform(1.0, 1.25)
            after = getattr(e, 'retry_after', None)
            sleep(min(max_backoff, max(delay, after or 0.0)))
    raise RuntimeError(f'{class_name!r}: gave up after {max_attempts} '
                       f'attempts: {last}') from last


def read_partial(path: str) -> Dict[str, dict]:
    """Finished classes of an interrupted run (JSON lines).

    A truncated or invalid line (a run killed mid-write) is ignored: that
    class was not finished and is asked again.

    Args:
        path (str): The partial file (may not exist).

    Returns:
        dict[str, dict]: Class name -> entry.
    """
    done: Dict[str, dict] = {}
    if not osp.isfile(path):
        return done
    with open(path, encoding='utf-8') as f:
        for line in f:
            try:
                rec = json.loads(line)
                if not validate_entry(rec['class'], rec['entry']):
                    done[rec['class']] = rec['entry']
            except (ValueError, KeyError, TypeError):
                continue
    return done


class _PartialWriter:
    """Appends one finished class per line, each with one write + fsync."""

    def __init__(self, path: str) -> None:
        folder = osp.dirname(osp.abspath(path))
        os.makedirs(folder, exist_ok=True)
        # a killed run may have left a line without its newline
        if osp.isfile(path) and osp.getsize(path):
            with open(path, 'rb') as f:
                f.seek(-1, os.SEEK_END)
                needs_newline = f.read(1) != b'\n'
            if needs_newline:
                with open(path, 'ab') as f:
                    f.write(b'\n')
        # the mode a plain open() gives: 0o666 & ~umask
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self.lock = threading.Lock()

    def add(self, name: str, entry: dict) -> None:
        line = json.dumps({'class': name, 'entry': entry},
                          ensure_ascii=False) + '\n'
        with self.lock:
            os.write(self.fd, line.encode('utf-8'))
            os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def generate_descriptions(classes: Sequence[str],
                          output: str,
                          complete: Callable[[List[dict]], str],
                          partial: Optional[str] = None,
                          concurrency: int = 4,
                          context: Optional[str] = None,
                          max_attempts: int = 6,
                          backoff: float = 1.0,
                          max_backoff: float = 60.0,
                          notes: Optional[str] = None,
                          progress: bool = True) -> Dict[str, dict]:
    """Describe every class with a language model; write the description file.

    Args:
        classes (Sequence[str]): Class names (the output keeps this order).
        output (str): Description file to write when all classes are done.
        complete (callable): ``messages -> reply text``.
        partial (str, optional): Resume file; default ``output +
            '.partial.jsonl'``.
        concurrency (int): Requests in flight at most.
        context, max_attempts, backoff, max_backoff: See
            :func:`describe_class`.
        notes (str, optional): Top-level ``notes`` of the output.
        progress (bool): Show a progress bar.

    Returns:
        dict[str, dict]: Class name -> entry.

    Raises:
        RuntimeError: Listing the classes that failed (the others are kept
            in the partial file for the next run).
    """
    if concurrency < 1:
        raise ValueError(f'concurrency must be >= 1, got {concurrency}')
    if len(set(classes)) != len(classes):
        raise ValueError('duplicate class names')
    partial = partial or output + '.partial.jsonl'
    done = read_partial(partial)
    todo = [c for c in classes if c not in done]
    writer = _PartialWriter(partial)
    bar = tqdm(total=len(todo), desc='describing classes', unit='class',
               disable=not (progress and todo), dynamic_ncols=True)
    failed: Dict[str, str] = {}
    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = {pool.submit(describe_class, complete, c, context,
                                   max_attempts, backoff, max_backoff): c
                       for c in todo}
            for fut in as_completed(futures):
                name = futures[fut]
                try:
                    done[name] = fut.result()
                    writer.add(name, done[name])
                except RuntimeError as e:
                    failed[name] = str(e)
                except BaseException:
                    # not transient (e.g. HTTP 401/404): stop asking
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
                bar.update()
    finally:
        bar.close()
        writer.close()
    if failed:
        raise RuntimeError(
            f'{len(failed)} classes failed (finished ones are kept in '
            f'{partial}; run again to resume): ' + '; '.join(failed.values()))
    result = {c: done[c] for c in classes}
    save_descriptions(result, output, notes)
    return result


def read_class_names(path: str) -> List[str]:
    """Class names from a text file (one a line), a JSON list, a split JSON
    (``seen`` then ``unseen``), a COCO categories / instances JSON (by id),
    or a description file (its class order); a wrapper of the one reader,
    :func:`granzsl_mm.structures.read_class_names`.

    Args:
        path (str): The file.

    Returns:
        list[str]: Class names.
    """
    return _read_class_names(path).names

