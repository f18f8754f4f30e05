"""Submitting the real Django admin pages as a browser would: the form's own values, changed."""

from django.urls import reverse


def change_form_data(response) -> dict:
    """The POST body the admin change page would send unchanged (checkboxes as browsers do)."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if value is None or value is False:
            continue
        if value is True:
            data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(getattr(item, "pk", item)) for item in value]
        else:
            data[name] = str(getattr(value, "pk", value))
    return data


def admin_change(client, obj, **changes):
    """Open ``obj``'s admin change page, apply ``changes`` (None unticks), save it."""
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = change_form_data(page)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(url, data)
