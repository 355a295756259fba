"""The gradio page of the web app (needs the ``web`` extra).

Only :func:`build_web_app` imports gradio; the actions live in
:class:`granzsl_mm.web_app.session.AppSession`. Element ids (``#images``,
``#vocabulary``, ``#run``, ``#status``, ``#ranking``, ``#score-map`` ...) are
stable: the browser test drives the page through them.
"""
from typing import Dict, Optional, Tuple

from .inputs import VOCABULARY_PRESETS, AppInputError, preset_vocabulary
from .session import AppSession

__all__ = ['build_web_app']

_INTRO = """# granzsl_mm: open-vocabulary multi-label tagging
Upload pictures, type the labels to look for (commas or new lines) or pick a
dataset's classes, and press **Run**. Scores are CLIP cosine scores with the
model's learned class names where it has them (`learned`) and prompt
templates for any other word (`prompt`). For models with local features the
score map of a label is drawn over the picture."""


def build_web_app(session: AppSession,
                   models: Optional[Dict[str, Tuple[str, str, str]]] = None,
                   config: str = '', checkpoint: str = '', options: str = '',
                   topk: int = 10, threshold: Optional[float] = None,
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
        threshold (float, optional): Initial highlight threshold.
        tta (bool): Initial state of snippet aggregation.

    Returns:
        gradio.Blocks: The page; call ``.launch(server_name=...)``.
    """
    import gradio as gr
    models = dict(models or {})

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
            threshold, progress=gr.Progress()):
        def report(fraction, text):
            progress(fraction, desc=text)

        outcome = session.run_ranking(files, vocabulary, config, checkpoint,
                                      options, tta=tta, topk=topk,
                                      threshold=threshold, progress=report)
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

    with gr.Blocks(title='granzsl_mm web app', analytics_enabled=False) as page:
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
                    threshold_box = gr.Number(
                        value=threshold, label='Highlight scores >= ',
                        elem_id='threshold')
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
                                                      threshold_box],
            [status, ranking, state, map_image, map_label, map_status,
             overlay])
        map_image.input(pick_image, [state, map_image, map_label]
                        + model_boxes, [map_label, map_status, overlay])
        map_label.input(show_map, [state, map_image, map_label] + model_boxes,
                        [map_status, overlay])
    return page
