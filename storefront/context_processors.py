from django.conf import settings


def shop(request):
    return {"shop_name": settings.PRODSIM_SHOP_NAME}
