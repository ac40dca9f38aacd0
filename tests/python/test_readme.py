"""The Python examples in README.md run as written (from the repository root)."""

import os
import re
import subprocess
import sys

from conftest import SOURCE_DIR

README = SOURCE_DIR / "README.md"


def python_examples():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python"):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_has_the_examples():
    examples = python_examples()
    assert len(examples) >= 3
    joined = "\n".join(examples)
    assert "generate(model, processor, prompt=" in joined
    assert "stream_generate(" in joined
    assert "Chat(" in joined


def test_readme_examples_run():
    env = dict(os.environ)
    for example in python_examples():
        result = subprocess.run([sys.executable, "-c", example], cwd=SOURCE_DIR, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, example + "\n" + result.stderr
