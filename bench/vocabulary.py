"""Product-support word lists in English and Arabic for the synthetic help center.

Written for this benchmark (not taken from any corpus). Each list is ordered from the most to
the least common word, which `bench/corpus.py` samples with a Zipf-like distribution. Nouns,
verbs and adjectives are paired across the two languages, so an Arabic article can be the
translation of an English one (same slug, same concepts). Arabic entries are base forms; the
generator adds the attached particles (ال, و, ب, ل), possessive endings and agreement.

Line formats (parsed by `load_vocabulary`, never at import time):
- nouns:      ``singular/plural | مفرد/جمع``
- verbs:      ``base/3rd person/past/-ing | مصدر/أفعل/فعلت/يفعل``
- adjectives: ``english | مذكر/مؤنث``
- products:   ``Latin name | الاسم بالعربية``
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# slug: (English label, Arabic label, nouns of that topic).
CATEGORIES: dict[str, tuple[str, str, str]] = {
    "orders": (
        "Orders",
        "الطلبات",
        """
        order/orders | طلب/طلبات
        item/items | غرض/أغراض
        product/products | منتج/منتجات
        cart/carts | سلة/سلال
        invoice/invoices | فاتورة/فواتير
        quantity/quantities | كمية/كميات
        status/statuses | حالة/حالات
        number/numbers | رقم/أرقام
        history/histories | سجل/سجلات
        purchase/purchases | شراء/مشتريات
        stock/stocks | مخزون/مخزونات
        size/sizes | مقاس/مقاسات
        colour/colours | لون/ألوان
        price/prices | سعر/أسعار
        bundle/bundles | حزمة/حزم
        reservation/reservations | حجز/حجوزات
        wishlist/wishlists | مفضلة/مفضلات
        note/notes | ملاحظة/ملاحظات
        brand/brands | علامة/علامات
        model/models | موديل/موديلات
        warehouse/warehouses | مستودع/مستودعات
        receipt/receipts | إيصال/إيصالات
        confirmation/confirmations | تأكيد/تأكيدات
        """,
    ),
    "shipping": (
        "Shipping and delivery",
        "الشحن والتوصيل",
        """
        delivery/deliveries | توصيل/توصيلات
        shipment/shipments | شحنة/شحنات
        parcel/parcels | طرد/طرود
        courier/couriers | مندوب/مناديب
        address/addresses | عنوان/عناوين
        driver/drivers | سائق/سائقين
        city/cities | مدينة/مدن
        location/locations | مكان/أماكن
        street/streets | شارع/شوارع
        building/buildings | مبنى/مباني
        apartment/apartments | شقة/شقق
        map/maps | خريطة/خرائط
        locker/lockers | خزانة/خزائن
        date/dates | تاريخ/تواريخ
        fee/fees | رسم/رسوم
        customs office/customs offices | جمرك/جمارك
        country/countries | دولة/دول
        region/regions | منطقة/مناطق
        box/boxes | صندوق/صناديق
        label/labels | ملصق/ملصقات
        carrier/carriers | ناقل/ناقلين
        zone/zones | نطاق/نطاقات
        tracking number/tracking numbers | رقم التتبع/أرقام التتبع
        """,
    ),
    "returns": (
        "Returns and refunds",
        "الإرجاع والاسترداد",
        """
        return/returns | مرتجع/مرتجعات
        refund/refunds | استرداد/استردادات
        exchange/exchanges | استبدال/استبدالات
        replacement/replacements | بديل/بدائل
        damage/damages | ضرر/أضرار
        defect/defects | عيب/عيوب
        reason/reasons | سبب/أسباب
        policy/policies | سياسة/سياسات
        condition/conditions | شرط/شروط
        period/periods | مدة/مدد
        inspection/inspections | فحص/فحوصات
        wrapper/wrappers | غلاف/أغلفة
        claim/claims | مطالبة/مطالبات
        complaint/complaints | شكوى/شكاوى
        report/reports | بلاغ/بلاغات
        form/forms | نموذج/نماذج
        photo/photos | صورة/صور
        proof/proofs | إثبات/إثباتات
        amount/amounts | مبلغ/مبالغ
        bank/banks | بنك/بنوك
        transfer/transfers | تحويل/تحويلات
        """,
    ),
    "payments": (
        "Payments and cards",
        "الدفع والبطاقات",
        """
        payment/payments | دفعة/دفعات
        card/cards | بطاقة/بطاقات
        wallet/wallets | محفظة/محافظ
        balance/balances | رصيد/أرصدة
        instalment/instalments | قسط/أقساط
        transaction/transactions | معاملة/معاملات
        currency/currencies | عملة/عملات
        method/methods | طريقة/طرق
        cash | نقد/نقود
        credit | ائتمان/ائتمانات
        limit/limits | حد/حدود
        fraud | احتيال/احتيالات
        tax/taxes | ضريبة/ضرائب
        statement/statements | كشف/كشوفات
        authorisation/authorisations | تفويض/تفويضات
        decline/declines | رفض/رفوض
        bank account/bank accounts | حساب البنك/حسابات البنوك
        credit card/credit cards | بطاقة ائتمان/بطاقات ائتمان
        """,
    ),
    "account": (
        "Your account",
        "حسابك",
        """
        account/accounts | حساب/حسابات
        profile/profiles | ملف/ملفات
        email/emails | إيميل/إيميلات
        name/names | اسم/أسماء
        mobile/mobiles | جوال/جوالات
        setting/settings | إعداد/إعدادات
        language/languages | لغة/لغات
        notification/notifications | إشعار/إشعارات
        message/messages | رسالة/رسائل
        preference/preferences | تفضيل/تفضيلات
        member/members | عضو/أعضاء
        family/families | عائلة/عائلات
        document/documents | مستند/مستندات
        identity/identities | هوية/هويات
        customer/customers | عميل/عملاء
        user/users | مستخدم/مستخدمين
        birthday/birthdays | ميلاد/مواليد
        nickname/nicknames | لقب/ألقاب
        """,
    ),
    "security": (
        "Security and passwords",
        "الأمان وكلمات المرور",
        """
        password/passwords | كلمة المرور/كلمات المرور
        code/codes | رمز/رموز
        device/devices | جهاز/أجهزة
        session/sessions | جلسة/جلسات
        link/links | رابط/روابط
        attempt/attempts | محاولة/محاولات
        lock/locks | قفل/أقفال
        fingerprint/fingerprints | بصمة/بصمات
        face/faces | وجه/وجوه
        question/questions | سؤال/أسئلة
        hacker/hackers | مخترق/مخترقين
        phishing | تصيد/تصيد
        alert/alerts | تنبيه/تنبيهات
        permission/permissions | صلاحية/صلاحيات
        key/keys | مفتاح/مفاتيح
        verification code/verification codes | رمز التحقق/رموز التحقق
        """,
    ),
    "subscriptions": (
        "Subscriptions",
        "الاشتراكات",
        """
        subscription/subscriptions | اشتراك/اشتراكات
        plan/plans | خطة/خطط
        membership/memberships | عضوية/عضويات
        renewal/renewals | تجديد/تجديدات
        trial/trials | تجربة/تجارب
        month/months | شهر/أشهر
        year/years | سنة/سنوات
        benefit/benefits | ميزة/مزايا
        tier/tiers | فئة/فئات
        upgrade/upgrades | ترقية/ترقيات
        package/packages | باقة/باقات
        channel/channels | قناة/قنوات
        profile picture/profile pictures | صورة الملف/صور الملفات
        """,
    ),
    "devices": (
        "Devices and electronics",
        "الأجهزة والإلكترونيات",
        """
        laptop/laptops | لابتوب/لابتوبات
        tablet/tablets | تابلت/تابلتات
        screen/screens | شاشة/شاشات
        battery/batteries | بطارية/بطاريات
        charger/chargers | شاحن/شواحن
        cable/cables | سلك/أسلاك
        headset/headsets | سماعة/سماعات
        camera/cameras | كاميرا/كاميرات
        printer/printers | طابعة/طابعات
        router/routers | راوتر/راوترات
        keyboard/keyboards | كيبورد/كيبوردات
        memory | ذاكرة/ذواكر
        button/buttons | زر/أزرار
        port/ports | منفذ/منافذ
        sim card/sim cards | شريحة/شرائح
        television/televisions | تلفزيون/تلفزيونات
        phone/phones | هاتف/هواتف
        software | برنامج/برامج
        """,
    ),
    "app": (
        "Using the app and website",
        "استخدام التطبيق والموقع",
        """
        app/apps | تطبيق/تطبيقات
        website/websites | موقع/مواقع
        page/pages | صفحة/صفحات
        browser/browsers | متصفح/متصفحات
        version/versions | إصدار/إصدارات
        search | بحث/أبحاث
        filter/filters | فلتر/فلاتر
        menu/menus | قائمة/قوائم
        icon/icons | أيقونة/أيقونات
        tab/tabs | تبويب/تبويبات
        mode/modes | وضع/أوضاع
        theme/themes | مظهر/مظاهر
        review/reviews | تقييم/تقييمات
        star/stars | نجمة/نجوم
        comment/comments | تعليق/تعليقات
        chat/chats | محادثة/محادثات
        section/sections | قسم/أقسام
        dark mode | الوضع الليلي/الوضع الليلي
        """,
    ),
    "gift-cards": (
        "Gift cards",
        "بطاقات الهدايا",
        """
        gift card/gift cards | بطاقة هدية/بطاقات هدايا
        gift/gifts | هدية/هدايا
        voucher/vouchers | قسيمة/قسائم
        recipient/recipients | مستلم/مستلمين
        sender/senders | مرسل/مرسلين
        occasion/occasions | مناسبة/مناسبات
        design/designs | تصميم/تصاميم
        value/values | قيمة/قيم
        expiry/expiries | انتهاء/انتهاءات
        greeting/greetings | تهنئة/تهاني
        wrapping/wrappings | تغليف/تغليفات
        """,
    ),
    "loyalty": (
        "Loyalty points and rewards",
        "نقاط الولاء والمكافآت",
        """
        point/points | نقطة/نقاط
        reward/rewards | مكافأة/مكافآت
        level/levels | مستوى/مستويات
        badge/badges | وسام/أوسمة
        partner/partners | شريك/شركاء
        offer/offers | عرض/عروض
        referral/referrals | إحالة/إحالات
        friend/friends | صديق/أصدقاء
        bonus/bonuses | حافز/حوافز
        challenge/challenges | تحدي/تحديات
        """,
    ),
    "promotions": (
        "Offers and coupons",
        "العروض والكوبونات",
        """
        coupon/coupons | كوبون/كوبونات
        sale/sales | تخفيض/تخفيضات
        discount/discounts | خصم/خصومات
        deal/deals | صفقة/صفقات
        campaign/campaigns | حملة/حملات
        season/seasons | موسم/مواسم
        newsletter/newsletters | نشرة/نشرات
        advert/adverts | إعلان/إعلانات
        event/events | فعالية/فعاليات
        percentage/percentages | نسبة/نسب
        promo code/promo codes | كود الخصم/أكواد الخصم
        """,
    ),
    "sellers": (
        "Selling on the marketplace",
        "البيع في السوق",
        """
        seller/sellers | بائع/بائعين
        store/stores | متجر/متاجر
        catalogue/catalogues | كتالوج/كتالوجات
        commission/commissions | عمولة/عمولات
        settlement/settlements | تسوية/تسويات
        dashboard/dashboards | لوحة/لوحات
        contract/contracts | عقد/عقود
        licence/licences | رخصة/رخص
        supplier/suppliers | مورد/موردين
        listing/listings | إدراج/إدراجات
        """,
    ),
    "business": (
        "Business accounts",
        "حسابات الشركات",
        """
        company/companies | شركة/شركات
        employee/employees | موظف/موظفين
        team/teams | فريق/فرق
        branch/branches | فرع/فروع
        approval/approvals | موافقة/موافقات
        budget/budgets | ميزانية/ميزانيات
        department/departments | إدارة/إدارات
        role/roles | دور/أدوار
        administrator/administrators | مشرف/مشرفين
        agent/agents | وكيل/وكلاء
        quote/quotes | عرض سعر/عروض أسعار
        """,
    ),
    "privacy": (
        "Privacy and your data",
        "الخصوصية وبياناتك",
        """
        data | بيانات/بيانات
        information | معلومة/معلومات
        consent/consents | إذن/أذونات
        copy/copies | نسخة/نسخ
        law/laws | قانون/قوانين
        right/rights | حق/حقوق
        cookie/cookies | ملف تعريف/ملفات تعريف
        request/requests | استفسار/استفسارات
        """,
    ),
    "technical": (
        "Technical problems",
        "المشاكل التقنية",
        """
        error/errors | خطأ/أخطاء
        problem/problems | مشكلة/مشاكل
        bug/bugs | عطل/أعطال
        connection/connections | اتصال/اتصالات
        network/networks | شبكة/شبكات
        internet | إنترنت/إنترنت
        server/servers | خادم/خوادم
        download/downloads | تنزيل/تنزيلات
        file/files | ملف/ملفات
        signal/signals | إشارة/إشارات
        speed/speeds | سرعة/سرعات
        crash/crashes | تعطل/تعطلات
        update/updates | تحديث/تحديثات
        """,
    ),
    "warranty": (
        "Warranty and repairs",
        "الضمان والصيانة",
        """
        warranty/warranties | ضمان/ضمانات
        repair/repairs | إصلاح/إصلاحات
        maintenance | صيانة/صيانات
        technician/technicians | فني/فنيين
        centre/centres | مركز/مراكز
        appointment/appointments | موعد/مواعيد
        spare part/spare parts | قطعة غيار/قطع غيار
        manual/manuals | دليل/أدلة
        visit/visits | زيارة/زيارات
        installation/installations | تركيب/تركيبات
        fault/faults | خلل/خلل
        """,
    ),
}

# Nouns of no particular topic, used everywhere.
GENERAL_NOUNS = """
help | مساعدة/مساعدات
option/options | خيار/خيارات
step/steps | خطوة/خطوات
detail/details | تفصيل/تفاصيل
change/changes | تغيير/تغييرات
service/services | خدمة/خدمات
time/times | وقت/أوقات
day/days | يوم/أيام
week/weeks | أسبوع/أسابيع
hour/hours | ساعة/ساعات
minute/minutes | دقيقة/دقائق
answer/answers | إجابة/إجابات
home/homes | بيت/بيوت
office/offices | مكتب/مكاتب
money | فلوس/فلوس
person/persons | شخص/أشخاص
text/texts | نص/نصوص
field/fields | حقل/حقول
process/processes | عملية/عمليات
type/types | نوع/أنواع
feature/features | خاصية/خصائص
system/systems | نظام/أنظمة
support | دعم/دعم
instruction/instructions | تعليمة/تعليمات
screen/screens | شاشة/شاشات
team/teams | فريق/فرق
list/lists | قائمة/قوائم
"""

VERBS = """
cancel/cancels/cancelled/cancelling | إلغاء/ألغي/ألغيت/يلغي
track/tracks/tracked/tracking | تتبع/أتتبع/تتبعت/يتتبع
return/returns/returned/returning | إرجاع/أرجع/أرجعت/يرجع
change/changes/changed/changing | تغيير/أغير/غيرت/يغير
pay/pays/paid/paying | دفع/أدفع/دفعت/يدفع
update/updates/updated/updating | تحديث/أحدث/حدثت/يحدث
add/adds/added/adding | إضافة/أضيف/أضفت/يضيف
refund/refunds/refunded/refunding | استرداد/أسترد/استرديت/يسترد
receive/receives/received/receiving | استلام/أستلم/استلمت/يستلم
send/sends/sent/sending | إرسال/أرسل/أرسلت/يرسل
remove/removes/removed/removing | حذف/أحذف/حذفت/يحذف
sign in/signs in/signed in/signing in | تسجيل الدخول/أسجل دخول/سجلت دخول/يسجل دخول
buy/buys/bought/buying | شراء/أشتري/اشتريت/يشتري
activate/activates/activated/activating | تفعيل/أفعل/فعلت/يفعل
verify/verifies/verified/verifying | توثيق/أوثق/وثقت/يوثق
confirm/confirms/confirmed/confirming | تأكيد/أؤكد/أكدت/يؤكد
deliver/delivers/delivered/delivering | توصيل/أوصل/وصلت/يوصل
use/uses/used/using | استخدام/أستخدم/استخدمت/يستخدم
recover/recovers/recovered/recovering | استعادة/أستعيد/استعدت/يستعيد
renew/renews/renewed/renewing | تجديد/أجدد/جددت/يجدد
upgrade/upgrades/upgraded/upgrading | ترقية/أرقي/رقيت/يرقي
download/downloads/downloaded/downloading | تنزيل/أنزل/نزلت/ينزل
install/installs/installed/installing | تثبيت/أثبت/ثبتت/يثبت
connect/connects/connected/connecting | ربط/أربط/ربطت/يربط
charge/charges/charged/charging | شحن/أشحن/شحنت/يشحن
redeem/redeems/redeemed/redeeming | صرف/أصرف/صرفت/يصرف
apply/applies/applied/applying | إدخال/أدخل/أدخلت/يدخل
save/saves/saved/saving | حفظ/أحفظ/حفظت/يحفظ
share/shares/shared/sharing | مشاركة/أشارك/شاركت/يشارك
contact/contacts/contacted/contacting | تواصل/أتواصل/تواصلت/يتواصل
report/reports/reported/reporting | إبلاغ/أبلغ/بلغت/يبلغ
replace/replaces/replaced/replacing | تبديل/أبدل/بدلت/يبدل
repair/repairs/repaired/repairing | تصليح/أصلح/صلحت/يصلح
schedule/schedules/scheduled/scheduling | جدولة/أجدول/جدولت/يجدول
transfer/transfers/transferred/transferring | تحويل/أحول/حولت/يحول
withdraw/withdraws/withdrew/withdrawing | سحب/أسحب/سحبت/يسحب
split/splits/split/splitting | تقسيم/أقسم/قسمت/يقسم
print/prints/printed/printing | طباعة/أطبع/طبعت/يطبع
upload/uploads/uploaded/uploading | رفع/أرفع/رفعت/يرفع
open/opens/opened/opening | فتح/أفتح/فتحت/يفتح
close/closes/closed/closing | إغلاق/أغلق/أغلقت/يغلق
find/finds/found/finding | إيجاد/أجد/وجدت/يجد
view/views/viewed/viewing | مشاهدة/أشوف/شفت/يشوف
edit/edits/edited/editing | تعديل/أعدل/عدلت/يعدل
block/blocks/blocked/blocking | حظر/أحظر/حظرت/يحظر
unlock/unlocks/unlocked/unlocking | فك/أفك/فكيت/يفك
subscribe/subscribes/subscribed/subscribing | اشتراك/أشترك/اشتركت/يشترك
earn/earns/earned/earning | كسب/أكسب/كسبت/يكسب
collect/collects/collected/collecting | تجميع/أجمع/جمعت/يجمع
run/runs/ran/running | تشغيل/أشغل/شغلت/يشغل
load/loads/loaded/loading | تحميل/أحمل/حملت/يحمل
wait/waits/waited/waiting | انتظار/أنتظر/انتظرت/ينتظر
check/checks/checked/checking | فحص/أفحص/فحصت/يفحص
choose/chooses/chose/choosing | اختيار/أختار/اخترت/يختار
protect/protects/protected/protecting | حماية/أحمي/حميت/يحمي
merge/merges/merged/merging | دمج/أدمج/دمجت/يدمج
invite/invites/invited/inviting | دعوة/أدعو/دعيت/يدعو
register/registers/registered/registering | تسجيل/أسجل/سجلت/يسجل
pause/pauses/paused/pausing | تعليق/أعلق/علقت/يعلق
resume/resumes/resumed/resuming | استئناف/أستأنف/استأنفت/يستأنف
sell/sells/sold/selling | بيع/أبيع/بعت/يبيع
reset/resets/reset/resetting | تصفير/أصفر/صفرت/يصفر
export/exports/exported/exporting | تصدير/أصدر/صدرت/يصدر
approve/approves/approved/approving | اعتماد/أعتمد/اعتمدت/يعتمد
extend/extends/extended/extending | تمديد/أمدد/مددت/يمدد
"""

ADJECTIVES = """
new | جديد/جديدة
wrong | خاطئ/خاطئة
missing | ناقص/ناقصة
damaged | تالف/تالفة
late | متأخر/متأخرة
free | مجاني/مجانية
expired | منتهي/منتهية
active | نشط/نشطة
blocked | محظور/محظورة
locked | مقفل/مقفلة
pending | معلق/معلقة
old | قديم/قديمة
secure | آمن/آمنة
fast | سريع/سريعة
slow | بطيء/بطيئة
international | دولي/دولية
local | محلي/محلية
monthly | شهري/شهرية
annual | سنوي/سنوية
digital | رقمي/رقمية
physical | فعلي/فعلية
default | افتراضي/افتراضية
main | رئيسي/رئيسية
personal | شخصي/شخصية
saved | محفوظ/محفوظة
extra | إضافي/إضافية
full | كامل/كاملة
partial | جزئي/جزئية
unknown | مجهول/مجهولة
suspicious | مشبوه/مشبوهة
temporary | مؤقت/مؤقتة
available | متوفر/متوفرة
broken | مكسور/مكسورة
original | أصلي/أصلية
correct | صحيح/صحيحة
different | مختلف/مختلفة
urgent | عاجل/عاجلة
large | كبير/كبيرة
small | صغير/صغيرة
online | إلكتروني/إلكترونية
automatic | تلقائي/تلقائية
manual | يدوي/يدوية
official | رسمي/رسمية
used | مستعمل/مستعملة
instant | فوري/فورية
duplicate | مكرر/مكررة
double | مزدوج/مزدوجة
valid | صالح/صالحة
invalid | غير صالح/غير صالحة
unavailable | غير متوفر/غير متوفرة
"""

PRODUCTS = """
iPhone | آيفون
PayPal | باي بال
Apple Pay | أبل باي
mada | مدى
Samsung | سامسونج
Visa | فيزا
Tabby | تابي
WhatsApp | واتساب
Android | أندرويد
Mastercard | ماستركارد
Tamara | تمارا
STC Pay | اس تي سي باي
Google Pay | جوجل باي
iPad | آيباد
AirPods | ايربودز
PlayStation | بلايستيشن
Huawei | هواوي
Chrome | كروم
Safari | سفاري
Windows | ويندوز
MacBook | ماك بوك
Aramex | أرامكس
SMSA | سمسا
DHL | دي اتش ال
Instagram | انستقرام
Snapchat | سناب شات
Netflix | نتفليكس
Shahid | شاهد
Gmail | جيميل
Outlook | أوتلوك
Xbox | اكس بوكس
Kindle | كيندل
Dyson | دايسون
Lenovo | لينوفو
Xiaomi | شاومي
Sony | سوني
Nintendo Switch | نينتندو سويتش
Absher | أبشر
Nafath | نفاذ
Careem | كريم
"""

# Function words and fillers, most common first.
ENGLISH_FUNCTION_WORDS = (
    "the to your you and a of in for on is it if with can or this be are from at that we "
    "will not have as by after before when all any then more only our us may do does has "
    "within until about up out into than also each which there how what why where my i"
).split()

ARABIC_FUNCTION_WORDS = (
    "في من على إلى عن مع أن هذا هذه التي الذي ما لا لم قد كل أو ثم إذا بعد قبل عند حتى "
    "عبر بدون لكن يمكن يمكنك تم كان هناك أي بين خلال فقط أيضا جميع بعض لدى لديك عليك "
    "نحن أنت سوف داخل حول"
).split()

ENGLISH_WHEN = (
    "within 24 hours",
    "in a few minutes",
    "the same day",
    "within 3 working days",
    "right away",
    "on the next working day",
    "at any time",
    "before the end of the month",
    "within 14 days",
    "after 48 hours",
)

ARABIC_WHEN = (
    "خلال 24 ساعة",
    "خلال دقائق",
    "في نفس اليوم",
    "خلال 3 أيام عمل",
    "فورا",
    "في يوم العمل التالي",
    "في أي وقت",
    "قبل نهاية الشهر",
    "خلال 14 يوما",
    "بعد 48 ساعة",
)

# Interface labels that steps tell the customer to tap.
ENGLISH_UI = (
    "Account",
    "My orders",
    "Settings",
    "Payments",
    "Help",
    "Save",
    "Continue",
    "Confirm",
    "Edit",
    "Manage",
    "Details",
    "Done",
)
ARABIC_UI = (
    "حسابي",
    "طلباتي",
    "الإعدادات",
    "الدفع",
    "المساعدة",
    "حفظ",
    "متابعة",
    "تأكيد",
    "تعديل",
    "إدارة",
    "التفاصيل",
    "تم",
)


@dataclass(frozen=True)
class Noun:
    en: str
    en_plural: str
    ar: str
    ar_plural: str


@dataclass(frozen=True)
class Verb:
    en: str
    en_third: str
    en_past: str
    en_ing: str
    ar_noun: str  # the verbal noun (masdar): إلغاء
    ar_first: str  # "I do": ألغي
    ar_past: str  # "I did": ألغيت
    ar_third: str  # "it does": يلغي


@dataclass(frozen=True)
class Adjective:
    en: str
    ar: str
    ar_feminine: str


@dataclass(frozen=True)
class Product:
    latin: str
    arabic: str


@dataclass(frozen=True)
class Vocabulary:
    categories: dict[str, tuple[str, str]]  # slug: (English label, Arabic label)
    topic_nouns: dict[str, tuple[Noun, ...]]  # slug: nouns of that category
    general_nouns: tuple[Noun, ...]
    verbs: tuple[Verb, ...]
    adjectives: tuple[Adjective, ...]
    products: tuple[Product, ...]


def _entries(block: str) -> list[tuple[list[str], list[str]]]:
    rows = []
    for line in block.strip().splitlines():
        english, arabic = (side.strip() for side in line.split("|"))
        rows.append(
            ([w.strip() for w in english.split("/")], [w.strip() for w in arabic.split("/")])
        )
    return rows


def _nouns(block: str) -> tuple[Noun, ...]:
    nouns = []
    for english, arabic in _entries(block):
        plural = english[1] if len(english) > 1 else english[0]
        nouns.append(Noun(english[0], plural, arabic[0], arabic[1]))
    return tuple(nouns)


@cache
def load_vocabulary() -> Vocabulary:
    """Parse the word lists above (once per process)."""
    verbs = tuple(Verb(*english, *arabic) for english, arabic in _entries(VERBS))
    adjectives = tuple(Adjective(english[0], *arabic) for english, arabic in _entries(ADJECTIVES))
    products = tuple(Product(english[0], arabic[0]) for english, arabic in _entries(PRODUCTS))
    return Vocabulary(
        categories={slug: (en, ar) for slug, (en, ar, _) in CATEGORIES.items()},
        topic_nouns={slug: _nouns(block) for slug, (_, _, block) in CATEGORIES.items()},
        general_nouns=_nouns(GENERAL_NOUNS),
        verbs=verbs,
        adjectives=adjectives,
        products=products,
    )
