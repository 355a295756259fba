"""The gradio page of the web app (needs the ``web`` extra).

Only :func:`build_web_app` imports gradio; the actions live in
:class:`granzsl_mm.web_app.session.AppSession`. Element ids (``#images``,
``#vocabulary``, ``#run``, ``#status``, ``#ranking``, ``#score-map`` ...) are
stable: the browser test drives the page through them.
"""
from typing import Dict, Optional, Tuple

from .inputs import VOCABULARY_PRESETS, AppInputError, preset_vocabulary
from .session import AppSession
from .uploads import UploadDoor, UploadLimits

__all__ = ['build_web_app', 'http_app', 'launch_web_app', 'upload_routes',
           'UPLOAD_AGE_S', 'UPLOAD_CHECK_S']

# gradio deletes uploads older than UPLOAD_AGE_S every UPLOAD_CHECK_S
# seconds (and all of them at shutdown): an upload lives at most their sum,
# the window of UploadLimits.max_stored_bytes
UPLOAD_AGE_S, UPLOAD_CHECK_S = 3600, 600

_INTRO = """# granzsl_mm: open-vocabulary multi-label tagging
Upload pictures, type the labels to look for (commas or new lines) or pick a
dataset's classes, and press **Run**. Scores are CLIP cosine scores with the
model's learned class names where it has them (`learned`) and prompt
templates for any other word (`prompt`): the two rank and highlight apart
(each its own threshold; empty = labels that stand out on the image), and
every bar is drawn from zero on one scale. For models with local features the
score map of a label is drawn over the picture."""


def build_web_app(session: AppSession,
                   models: Optional[Dict[str, Tuple[str, str, str]]] = None,
                   config: str = '', checkpoint: str = '', options: str = '',
                   topk: int = 10,
                   thresholds: Optional[Dict[str, str]] = None,
                   tta: bool = False):
    """Build the gradio ``Blocks`` of the web app (not launched).

    Args:
        session (AppSession): Models and actions.
        models (dict, optional): Ready-made choices, shown name ->
            ``(config, checkpoint, options)`` (see ``discover_models``).
        config (str): Initial config path.
        checkpoint (str): Initial checkpoint path ('' for none).
        options (str): Initial ``key=value`` config overrides.
        topk (int): Initial number of labels shown per image.
        thresholds (dict, optional): Initial highlight threshold per source
            (``'learned'``, ``'prompt'``): a number, ``'auto'`` / empty (the
            labels that stand out) or ``'none'``.
        tta (bool): Initial state of snippet aggregation.

    Returns:
        gradio.Blocks: The page; call ``.launch(server_name=...)``.
    """
    import gradio as gr
    models = dict(models or {})
    thresholds = dict(thresholds or {})

    def fill_preset(preset):
        if not preset:
            return gr.update(), ''
        try:
            labels = preset_vocabulary(preset, session.demo_root)
        except AppInputError as e:
            return gr.update(), f'**{e}**'
        return ', '.join(labels), f'{preset}: {len(labels)} labels.'

    def fill_model(choice):
        if choice not in models:
            return gr.update(), gr.update(), gr.update()
        return models[choice]

    def show_map(state, name, label, config, checkpoint, options):
        entry = (state or {}).get(name)
        outcome = session.run_score_map(entry and entry['path'], label,
                                        config, checkpoint, options)
        return outcome.status, outcome.overlay

    def run(files, vocabulary, config, checkpoint, options, tta, topk,
            threshold_learned, threshold_prompt, progress=gr.Progress()):
        def report(fraction, text):
            progress(fraction, desc=text)

        outcome = session.run_ranking(files, vocabulary, config, checkpoint,
                                      options, tta=tta, topk=topk,
                                      thresholds=dict(
                                          learned=threshold_learned,
                                          prompt=threshold_prompt),
                                      progress=report)
        if not outcome.ok:
            return (outcome.status, '', {}, gr.update(choices=[], value=None),
                    gr.update(choices=[], value=None), '', None)
        state = {r['name']: dict(path=r['path'], labels=r['labels'])
                 for r in outcome.results}
        first = outcome.results[0]
        top = first['labels'][0] if first['labels'] else None
        map_status, overlay = show_map(state, first['name'], top, config,
                                       checkpoint, options)
        return (outcome.status, outcome.html, state,
                gr.update(choices=list(state), value=first['name']),
                gr.update(choices=first['labels'], value=top),
                map_status, overlay)

    def pick_image(state, name, label, config, checkpoint, options):
        labels = (state or {}).get(name, {}).get('labels', [])
        label = label if label in labels else (labels[0] if labels else None)
        map_status, overlay = show_map(state, name, label, config, checkpoint,
                                       options)
        return gr.update(choices=labels, value=label), map_status, overlay

    with gr.Blocks(title='granzsl_mm web app', analytics_enabled=False,
                   delete_cache=(UPLOAD_CHECK_S, UPLOAD_AGE_S)) as page:
        gr.Markdown(_INTRO)
        state = gr.State({})
        with gr.Row():
            with gr.Column(scale=1):
                files = gr.File(label='Images', file_count='multiple',
                                file_types=['image'], elem_id='images')
                preset = gr.Dropdown(choices=list(VOCABULARY_PRESETS),
                                     value=None, elem_id='preset',
                                     label="Fill with a dataset's classes")
                vocabulary = gr.Textbox(
                    label='Vocabulary (comma or newline separated)', lines=4,
                    placeholder='cat, dog, red car', elem_id='vocabulary')
                with gr.Accordion('Model', open=True):
                    current = next((name for name, value in models.items()
                                    if value == (config, checkpoint,
                                                 options)), None)
                    choice = gr.Dropdown(choices=list(models), value=current,
                                         label='Ready-made models',
                                         elem_id='model-choice')
                    config_box = gr.Textbox(label='Config', value=config,
                                            elem_id='config')
                    ckpt_box = gr.Textbox(label='Checkpoint (empty: the '
                                          "config's own weights)",
                                          value=checkpoint,
                                          elem_id='checkpoint')
                    options_box = gr.Textbox(
                        label='Config options (key=value ...)', value=options,
                        elem_id='cfg-options')
                    tta_box = gr.Checkbox(
                        label='Snippet aggregation (test-time, slower)',
                        value=tta, elem_id='tta')
                with gr.Row():
                    topk_box = gr.Slider(1, 100, value=topk, step=1,
                                         label='Labels shown per image',
                                         elem_id='topk')
                with gr.Row():
                    # text, not gr.Number: an empty box must stay empty
                    # (auto), and 'none' switches the highlight off
                    learned_box = gr.Textbox(
                        value=_shown(thresholds.get('learned')),
                        label='Highlight learned names >= (number, auto, '
                        'none)', placeholder='auto', max_lines=1,
                        elem_id='threshold-learned')
                    prompt_box = gr.Textbox(
                        value=_shown(thresholds.get('prompt')),
                        label='Highlight prompt words >= (number, auto, '
                        'none)', placeholder='auto', max_lines=1,
                        elem_id='threshold-prompt')
                run_button = gr.Button('Run', variant='primary', elem_id='run')
            with gr.Column(scale=1):
                status = gr.Markdown(elem_id='status')
                ranking = gr.HTML(elem_id='ranking')
                with gr.Row():
                    map_image = gr.Dropdown(label='Score map of image',
                                            choices=[], elem_id='map-image')
                    map_label = gr.Dropdown(label='for label', choices=[],
                                            allow_custom_value=True,
                                            elem_id='map-label')
                map_status = gr.Markdown(elem_id='map-status')
                overlay = gr.Image(label='Local score map', type='numpy',
                                   interactive=False, elem_id='score-map')

        preset.input(fill_preset, [preset], [vocabulary, status])
        model_boxes = [config_box, ckpt_box, options_box]
        choice.input(fill_model, [choice], model_boxes)
        run_button.click(
            run, [files, vocabulary] + model_boxes + [tta_box, topk_box,
                                                      learned_box, prompt_box],
            [status, ranking, state, map_image, map_label, map_status,
             overlay])
        map_image.input(pick_image, [state, map_image, map_label]
                        + model_boxes, [map_label, map_status, overlay])
        map_label.input(show_map, [state, map_image, map_label] + model_boxes,
                        [map_status, overlay])
    return page


def _shown(threshold) -> str:
    return '' if threshold is None or threshold == 'auto' else str(threshold)


def upload_routes() -> Tuple[str, ...]:
    """The routes of gradio's app that take a file body (its upload)."""
    from gradio.route_utils import API_PREFIX
    return (f'{API_PREFIX}/upload', )


def _app_kwargs(limits: UploadLimits) -> dict:
    from starlette.middleware import Middleware
    return dict(middleware=[Middleware(
        UploadDoor, upload_paths=upload_routes(), limits=limits,
        stored_window_s=UPLOAD_AGE_S + UPLOAD_CHECK_S)])


def http_app(page, limits: UploadLimits = UploadLimits()):
    """The page's ASGI app as :func:`launch_web_app` serves it, without a
    server (for in-process clients such as starlette's ``TestClient``).

    Args:
        page (gradio.Blocks): From :func:`build_web_app`.
        limits (UploadLimits): Bounds of the request bodies.

    Returns:
        The FastAPI app, behind :class:`~granzsl_mm.web_app.uploads.UploadDoor`.
    """
    import gradio as gr
    page.queue()
    page.max_file_size = limits.max_file_bytes  # gradio's own second bound
    return gr.routes.App.create_app(page, app_kwargs=_app_kwargs(limits))


def launch_web_app(page, host: str = '127.0.0.1', port: int = 7860,
                   limits: UploadLimits = UploadLimits()) -> None:
    """Serve the page behind the upload door (blocks until stopped).

    Args:
        page (gradio.Blocks): From :func:`build_web_app`.
        host (str): Address to bind.
        port (int): Port.
        limits (UploadLimits): Bounds of the request bodies (gradio's
            queue runs one page event at a time).
    """
    page.queue().launch(
        server_name=host, server_port=port, share=False, show_error=False,
        quiet=False, max_file_size=limits.max_file_bytes,
        app_kwargs=_app_kwargs(limits))
