from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from core.jobs.admin import (
    CancelMessages,
    EndedImportsDeleteMixin,
    ImportProblemsAdminMixin,
    LiveField,
    LiveJobAdminMixin,
    LivePageTexts,
    LiveRow,
)

from . import changes
from .importers import LIST_SEPARATOR, split_list
from .models import Category, ImportJob, Product, ProductImage
from .selectors import import_job_progress
from .services import import_job_cancel, import_job_create, import_jobs_delete, product_delete
from .services.imports import (
    PROGRESS_EVERY_ROWS,
    ImportFileTooLarge,
    archive_size_check,
    csv_size_check,
)
from .services.products import product_images_removed, product_locked_for_edit
from .services.reports import import_job_problems_csv
from .skus import sku_normalised

THUMBNAIL_PX = 64
DELETE_KEPT_RUNNING = (
    "{count} running import(s) not deleted: cancel them first, then delete them once they "
    "have ended."
)
CANCEL_MESSAGES = CancelMessages(
    requested="Cancellation of import #{pk} requested; "
    f"it stops within {PROGRESS_EVERY_ROWS} rows.",
    cancelled_queued="Import #{pk} was still queued: cancelled, nothing was imported.",
    already_finished="Import #{pk} has already finished ({state}).",
    action_done="{cancelled} queued import(s) cancelled; {asked} running import(s) asked to stop.",
)
LIVE_ROWS = (
    LiveRow("State", "state"),
    LiveRow("Rows", "rows_done", "rows_total"),
    LiveRow("Rows/s", "rows_per_s"),
    LiveRow("ETA", LiveField("eta_s", "duration")),
    LiveRow("Created / updated / unchanged", "created_count", "updated_count", "unchanged_count"),
    LiveRow("Rows rejected", "failed_count"),
    LiveRow("Images added / rejected", "images_added", "images_rejected"),
    LiveRow("Problems reported", "errors"),
    LiveRow("Error", "error"),
)
LIVE_TEXTS = LivePageTexts(
    noun="import",
    cancel_requested="Cancellation requested: the import stops at its next progress write; "
    "rows imported until then stay.",
    report_link="Show the report of every row",
)


def _thumbnail(image: ProductImage | None) -> str:
    if image is None:
        return "–"
    return format_html(
        '<img src="{}" width="{}" height="{}" style="object-fit:contain" alt="">',
        image.file.url,
        THUMBNAIL_PX,
        THUMBNAIL_PX,
    )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["path", "slug", "parent"]
    search_fields = ["path"]
    readonly_fields = ["path", "slug", "parent"]

    def has_add_permission(self, request) -> bool:
        # Categories come from products' paths (imports, the API, the product form), which fill
        # in path, slug and parent: added here, one was saved with an empty path.
        return False


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    can_delete = True
    fields = ["preview", "position", "is_primary", "width", "height", "source_name", "sha256"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # images arrive through the validated import, never raw uploads

    @admin.display(description="Image")
    def preview(self, image: ProductImage) -> str:
        return _thumbnail(image)


ERROR_CHANGED_MEANWHILE = (
    "This product was changed while you edited it (by an import, the API or another admin). "
    "Open it again to see the change, then make yours."
)


class ProductAdminForm(forms.ModelForm):
    """ProductAdmin's form (the admin gives it its model and fields)."""

    # "|" as in the catalogue CSV, read as it reads them (blanks and repeats dropped): a tag may
    # hold a comma ("salt, pepper"), which the admin's default field split in two on every save.
    tags = forms.CharField(
        required=False,
        help_text="Separated by |, as in the catalogue CSV: red|ceramic|salt, pepper",
    )

    # When the page was loaded: a save over a change made since (an import, the API, another
    # admin) would put back every field as the page showed it, a sold-out product back in stock.
    loaded_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["loaded_at"] = self.instance.updated_at
            self.initial["tags"] = LIST_SEPARATOR.join(self.instance.tags)

    def clean_tags(self) -> list[str]:
        return split_list(self.cleaned_data["tags"])

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            current = product_locked_for_edit(product_id=self.instance.pk)
            if current is not None and current != cleaned.get("loaded_at"):
                raise forms.ValidationError(ERROR_CHANGED_MEANWHILE)
        return cleaned

    def clean_sku(self) -> str:
        # The spelling the imports and the API store and look up (NFC): a decomposed accent typed
        # here would make the next import of this product a second one. Cleaned before the
        # form's unique check runs, so a clash with another product stays a form error. A SKU
        # left as stored keeps its spelling: one stored decomposed beside its composed twin
        # (before every door normalised) must stay editable, to withdraw it for one.
        sku = self.cleaned_data["sku"]
        return sku if self.instance.pk and sku == self.instance.sku else sku_normalised(sku)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = [
        "thumbnail",
        "sku",
        "title",
        "brand",
        "category",
        "price",
        "currency",
        "in_stock",
        "is_active",
    ]
    list_display_links = ["thumbnail", "sku"]
    list_filter = ["is_active", "in_stock", "category", "brand"]
    # Counts per filter choice cost a pass over the catalogue per brand and per category on
    # every page load once asked for (the choice stays in the URL).
    show_facets = admin.ShowFacets.NEVER
    search_fields = ["sku", "title", "brand", "group_id"]
    list_select_related = ["category"]
    list_per_page = 50
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ProductImageInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("images")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Compared as saved: a legacy decomposed SKU saved unedited is stored normalised too.
        if change and form.initial["sku"] != form.instance.sku:
            # The old SKU names no product any more. Lists are cached by SKU (similar, and
            # behaviour's on the same generations), and the edit below reaches only the new one:
            # announced as gone, the old SKU's cached lists answer 404 as a deleted product's do.
            changes.product_deleted(sku=form.initial["sku"])
        if change and "is_active" in form.changed_data and not form.instance.is_active:
            # Saved by the form, not product_upsert: the withdrawal is told here, or lists that
            # name the product would keep showing it until their TTL.
            changes.products_withdrawn(product_ids=[form.instance.pk])
        if change and "in_stock" in form.changed_data and not form.instance.in_stock:
            changes.products_sold_out(product_ids=[form.instance.pk])
        removed = [
            image.file.name
            for formset in formsets
            for image in getattr(formset, "deleted_objects", [])
            if isinstance(image, ProductImage)
        ]
        if removed:  # the product's photos changed: its image vector and primary image follow
            product_images_removed(product=form.instance, files=removed)
            return
        # An edit here is a catalogue change like an import or an API upsert: the product's
        # text vector is refreshed and its cached similar lists become unreachable.
        changes.products_changed(product_ids=[form.instance.pk], images_changed=False)

    def delete_model(self, request, obj):
        product_delete(sku=obj.sku)  # the service also removes unshared files and cached lists

    def delete_queryset(self, request, queryset):
        for product in queryset:
            product_delete(sku=product.sku)

    @admin.display(description="Image")
    def thumbnail(self, product: Product) -> str:
        primary = next((image for image in product.images.all() if image.is_primary), None)
        return _thumbnail(primary)


class ImportUploadForm(forms.ModelForm):
    csv_upload = forms.FileField(label="Catalogue CSV", help_text="See docs/CATALOGUE_FORMAT.md.")
    images_upload = forms.FileField(
        label="Images (zip)",
        required=False,
        help_text="A zip archive; the CSV's images column holds paths inside it.",
    )

    class Meta:
        model = ImportJob
        fields = []

    def clean_csv_upload(self):
        # Checked before the file is stored: the worker refuses such a CSV once it is queued.
        upload = self.cleaned_data["csv_upload"]
        return _within_limit(csv_size_check, upload)

    def clean_images_upload(self):
        upload = self.cleaned_data.get("images_upload")
        if upload and not upload.name.lower().endswith(".zip"):
            raise forms.ValidationError("Upload the images as a .zip archive.")
        # The page takes uploads up to the largest of the limits: a zip over its own would
        # reach the service, which refuses it.
        return _within_limit(archive_size_check, upload) if upload else upload


def _within_limit(check, upload):
    """The upload, or the service's size check's refusal as the field's error."""
    try:
        check(upload)
    except ImportFileTooLarge as exc:
        raise forms.ValidationError(str(exc)) from None
    return upload


@admin.register(ImportJob)
class ImportJobAdmin(
    EndedImportsDeleteMixin, ImportProblemsAdminMixin, LiveJobAdminMixin, admin.ModelAdmin
):
    list_display = [
        "id",
        "state",
        "created_at",
        "rows_done",
        "rows_total",
        "created_count",
        "updated_count",
        "unchanged_count",
        "failed_count",
        "images_rejected",
    ]
    list_filter = ["state"]
    actions = ["cancel", "delete_selected"]
    cancel_messages = CANCEL_MESSAGES
    delete_kept_running = DELETE_KEPT_RUNNING
    # Whoever may upload a catalogue may stop an import; viewing one is not enough.
    cancel_permission = "catalog.upload_catalogue"
    live_rows, live_texts = LIVE_ROWS, LIVE_TEXTS
    problems_filename = "import-{pk}-problems.csv"
    readonly_fields = [
        "state",
        "cancel_requested",
        "progress",
        "created_count",
        "updated_count",
        "unchanged_count",
        "failed_count",
        "images_added",
        "images_rejected",
        "error",
        "attempts",
        "csv_name",
        "images_name",
        "images_dir",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "duration_s",
        "problems",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ImportUploadForm
        return super().get_form(request, obj, **kwargs)

    # The uploads' names as text: a file field shows as a link under /media/imports/, which is
    # never served (the files are the shop's data, not public).
    @admin.display(description="CSV file")
    def csv_name(self, job: ImportJob) -> str:
        return job.csv_file.name or "–"

    @admin.display(description="Images file")
    def images_name(self, job: ImportJob) -> str:
        return job.images_file.name or "–"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["csv_upload", "images_upload"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_add_permission(self, request) -> bool:
        # The upload page replaces catalogue data in bulk: the dedicated permission, not "add".
        return request.user.has_perm("catalog.upload_catalogue")

    def has_change_permission(self, request, obj=None) -> bool:
        # A job is a record; it changes only by running (or Cancel). Its page is view-only: the
        # save path here is the upload's, and an existing job's page has no files to upload.
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # The upload form leads to the import's page: whoever may upload may follow imports.
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "catalog.upload_catalogue"
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # A running import is cancelled, not deleted: its worker still reads the files and
        # writes the row; once ended (or cancelled) the row and its files may go.
        if obj is not None and obj.state == ImportJob.State.RUNNING:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        self.delete_queryset(request, ImportJob.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        # The uploaded CSV and zip go with the row (the service), once the delete commits.
        deleted, kept = import_jobs_delete(jobs=queryset)
        if kept:
            self.message_user(request, DELETE_KEPT_RUNNING.format(count=kept), messages.WARNING)

    def cancel_job(self, job: ImportJob) -> ImportJob:
        return import_job_cancel(job=job)

    def live_values(self, job: ImportJob) -> dict:
        return import_job_progress(job=job)

    def problems_csv(self, job: ImportJob) -> str:
        return import_job_problems_csv(job)

    def save_model(self, request, obj, form, change):
        # The upload form only collects files; the service stores them and enqueues the job.
        job = import_job_create(
            csv_file=form.cleaned_data["csv_upload"],
            images=form.cleaned_data.get("images_upload"),
            user=request.user,
        )
        obj.pk = job.pk

    def save_related(self, request, form, formsets, change):
        pass  # nothing related is edited here

    def response_add(self, request, obj, post_url_continue=None):
        messages.success(request, f"Import #{obj.pk} queued; this page follows it as it runs.")
        return HttpResponseRedirect(reverse("admin:catalog_importjob_change", args=[obj.pk]))

    @admin.display(description="Progress")
    def progress(self, job: ImportJob) -> str:
        if not job.rows_total:
            return "waiting for a worker" if job.state == ImportJob.State.QUEUED else "–"
        return f"{job.rows_done} / {job.rows_total} rows"
