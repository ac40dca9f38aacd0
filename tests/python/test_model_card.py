"""The model card's usage example with `tightfit` in place of `mlx_vlm` (README "Python"):

    from mlx_vlm import load, generate
    model, processor = load("avlp12/Qwen3.5-35B-A3B-Alis-MLX-Dynamic-2.6bpw-VLM")
    response = generate(model, processor, prompt="이 이미지를 설명해주세요.",
                        image="/path/to/image.jpg", max_tokens=500)

run on the tiny VL model with a JPEG made from the test image."""

from conftest import IMAGE_64, VL_MODEL

PIL = __import__("pytest").importorskip("PIL.Image")


def test_model_card_snippet_runs_verbatim(tmp_path):
    image_jpg = tmp_path / "image.jpg"
    PIL.open(IMAGE_64).convert("RGB").save(image_jpg, quality=90)
    repo_id = str(VL_MODEL)

    from tightfit import load, generate
    model, processor = load(repo_id)
    response = generate(model, processor, prompt="이 이미지를 설명해주세요.",
                        image=str(image_jpg), max_tokens=500)

    assert isinstance(response, str)
    assert model.info.has_vision


def test_the_image_reaches_the_model(vl_model):
    # The user message holds the image: the engine counts it and its placeholder tokens.
    from tightfit._generate import user_messages
    model, _ = vl_model
    usage = {}
    for images in ([], [str(IMAGE_64)]):
        events = list(model.submit(user_messages("Describe the image.", images), max_tokens=2))
        usage[len(images)] = events[-1].usage
    assert usage[1].images == 1
    assert usage[0].images == 0
    assert usage[1].prompt_tokens > usage[0].prompt_tokens
